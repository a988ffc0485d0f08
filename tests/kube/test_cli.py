"""`berth kube` from the command line: what it writes, and bad input in one line with
nothing written or applied."""
import subprocess
import sys
import textwrap

import pytest

from tests.helpers import REPO, run_berth


@pytest.fixture
def project(tmp_path):
    directory = tmp_path / "proj"
    directory.mkdir()
    (directory / "compose.yaml").write_text(textwrap.dedent("""
        name: shop
        services:
          web: {image: nginx, ports: ["8080:80"], depends_on: {api: {condition: service_healthy}}}
          api: {image: api, expose: ["3000"], healthcheck: {test: [CMD, ok]}}
    """))
    env = {"BERTH_ROOT": str(tmp_path / "root"), "XDG_CACHE_HOME": str(tmp_path / "cache"),
           "KUBECONFIG": str(tmp_path / "no-such-kubeconfig")}

    def berth(*args):
        return run_berth(*args, cwd=directory, env=env)
    berth.dir = directory
    return berth


def _one_line_error(proc, text):
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("berth: "), proc.stderr
    assert text in proc.stderr


def test_convert_writes_the_base_and_prints_the_summary(project):
    proc = project("kube", "convert", "-o", "out", "--namespace", "shop")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == \
        "2 services -> 7 objects: 5 keys mapped, 1 approximated, 0 dropped"
    out = project.dir / "out"
    assert sorted(p.name for p in out.iterdir()) == [
        "REPORT.md", "deployment-api.yaml", "deployment-web.yaml", "kustomization.yaml",
        "networkpolicy-net-default.yaml", "networkpolicy-web-published.yaml",
        "service-api.yaml", "service-web-published.yaml", "service-web.yaml"]
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    assert b"namespace: shop\n" in first["kustomization.yaml"]
    again = project("kube", "convert", "-o", "out", "--namespace", "shop")
    assert again.returncode == 0
    assert {p.name: p.read_bytes() for p in out.iterdir()} == first  # same input, same bytes
    assert [p.name for p in project.dir.iterdir()] == ["compose.yaml", "out"]  # nothing left


def test_unknown_service_type_is_one_line_and_nothing_is_written(project):
    _one_line_error(project("kube", "convert", "-o", "out", "--service-type", "Ingress"),
                    "unknown --service-type 'Ingress': use ClusterIP, NodePort or LoadBalancer")
    assert not (project.dir / "out").exists()


def test_a_build_without_registry_is_one_line_and_nothing_is_written(project):
    (project.dir / "compose.override.yaml").write_text("services: {api: {build: .}}\n")
    _one_line_error(project("kube", "convert", "-o", "out"),
                    "service 'api' is built from source: give --registry REG")
    assert not (project.dir / "out").exists()


def test_a_directory_of_something_else_is_not_replaced(project):
    (project.dir / "out").mkdir()
    (project.dir / "out" / "notes.txt").write_text("mine")
    _one_line_error(project("kube", "convert", "-o", "out"),
                    "is not the output of berth kube convert")
    assert (project.dir / "out" / "notes.txt").read_text() == "mine"


def test_apply_without_a_cluster_is_one_line(project):
    _one_line_error(project("kube", "apply"), "no Kubernetes cluster to talk to")


def test_apply_to_an_unreachable_cluster_is_one_line(project, tmp_path):
    config = tmp_path / "kubeconfig"
    config.write_text(textwrap.dedent("""
        apiVersion: v1
        kind: Config
        clusters: [{name: gone, cluster: {server: "https://127.0.0.1:1"}}]
        users: [{name: me, user: {token: abc}}]
        contexts: [{name: gone, context: {cluster: gone, user: me}}]
        current-context: gone
    """))
    proc = run_berth("kube", "apply", "--wait", cwd=project.dir,
                     env={"KUBECONFIG": str(config), "BERTH_ROOT": str(tmp_path / "root")})
    _one_line_error(proc, "cannot reach the Kubernetes cluster at https://127.0.0.1:1")
    proc = run_berth("kube", "down", cwd=project.dir,
                     env={"KUBECONFIG": str(config), "BERTH_ROOT": str(tmp_path / "root")})
    _one_line_error(proc, "cannot reach the Kubernetes cluster at https://127.0.0.1:1")


def test_only_server_dry_runs(project):
    _one_line_error(project("kube", "apply", "--dry-run", "client"),
                    "--dry-run=client: only --dry-run=server is supported")


def test_the_kube_command_loads_its_code_only_when_run():
    code = ("import sys, compose.cli.kube; "
            "print(sorted(m for m in sys.modules if m.startswith(('compose.kube', 'kubernetes'))))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
    help_text = run_berth("--help").stdout
    assert "kube" in help_text


def test_a_project_from_stdin_is_read_once_for_both_loads(project):
    text = (project.dir / "compose.yaml").read_text()
    proc = run_berth("-f", "-", "kube", "convert", "-o", "out", cwd=project.dir, input=text,
                     env={"BERTH_ROOT": str(project.dir.parent / "root")})
    assert proc.returncode == 0, proc.stderr
    assert (project.dir / "out" / "deployment-web.yaml").is_file()
