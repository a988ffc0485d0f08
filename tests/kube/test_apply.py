"""`berth kube apply` and `down` against a real cluster: run only when KUBECONFIG points
at one that answers (no cluster can be started on the machines these tests usually run
on, and a mocked API server would test nothing of apply). Each test works in a
namespace of its own and deletes it."""
import secrets
import textwrap

import pytest

from tests.helpers import run_berth
from tests.kube.support import reachable_cluster

REASON = reachable_cluster()
pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")

PROJECT = """
    name: kubetest
    services:
      setup: {image: busybox:1.36, command: [sh, -c, "echo prepared"], restart: "no"}
      api:
        image: busybox:1.36
        command: [httpd, -f, -p, "8080"]
        expose: ["8080"]
        healthcheck: {test: [CMD, wget, -q, -O-, "http://127.0.0.1:8080/"], interval: 2s}
        depends_on: {setup: {condition: service_completed_successfully}}
      web:
        image: busybox:1.36
        command: [sleep, "3600"]
        depends_on: {api: {condition: service_healthy}}
"""


@pytest.fixture
def namespace():
    from kubernetes import client, config

    name = f"berth-test-{secrets.token_hex(4)}"
    yield name
    api = client.CoreV1Api(config.new_client_from_config())
    api.delete_namespace(name, propagation_policy="Foreground")


@pytest.fixture
def project(tmp_path):
    (tmp_path / "compose.yaml").write_text(textwrap.dedent(PROJECT))
    return tmp_path


def _clients():
    from kubernetes import client, config

    api = config.new_client_from_config()
    return client.AppsV1Api(api), client.BatchV1Api(api)


def test_apply_waits_in_dependency_order_and_down_removes_everything(project, namespace, tmp_path):
    env = {"BERTH_ROOT": str(tmp_path / "root")}
    proc = run_berth("kube", "apply", "-n", namespace, "--wait", "--wait-timeout", "300",
                     cwd=project, env=env, timeout=400)
    assert proc.returncode == 0, proc.stderr
    apps, batch = _clients()
    job = batch.read_namespaced_job("setup", namespace)
    assert job.status.succeeded == 1
    for name in ("api", "web"):
        deployment = apps.read_namespaced_deployment(name, namespace)
        assert deployment.status.available_replicas == 1
        assert deployment.spec.template.spec.restart_policy == "Always"
    again = run_berth("kube", "apply", "-n", namespace, "--wait", cwd=project, env=env,
                      timeout=400)
    assert again.returncode == 0, again.stderr  # unchanged: the Job is not run again
    assert batch.read_namespaced_job("setup", namespace).status.succeeded == 1
    down = run_berth("kube", "down", "-n", namespace, cwd=project, env=env, timeout=120)
    assert down.returncode == 0, down.stderr
    assert not apps.list_namespaced_deployment(namespace).items
    assert not batch.list_namespaced_job(namespace).items


def test_server_dry_run_keeps_nothing(project, namespace, tmp_path):
    from kubernetes import client, config

    client.CoreV1Api(config.new_client_from_config()).create_namespace(
        {"metadata": {"name": namespace}})
    proc = run_berth("kube", "apply", "-n", namespace, "--dry-run=server", cwd=project,
                     env={"BERTH_ROOT": str(tmp_path / "root")}, timeout=120)
    assert proc.returncode == 0, proc.stderr
    apps, batch = _clients()
    assert not apps.list_namespaced_deployment(namespace).items
    assert not batch.list_namespaced_job(namespace).items
