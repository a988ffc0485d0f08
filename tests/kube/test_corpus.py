"""Every compose file of awesome-compose and of stacks/ converts, and what it becomes
holds: each object validates against the official schemas of Kubernetes 1.30 and 1.37
(kubernetes-validate --strict), deserializes into the kubernetes client's models with
nothing left over, passes berth's own checks, and `kubectl kustomize` renders the base;
the report names every key of every service."""
from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from compose.errors import ComposeError
from compose.kube import checks, kustomize
from compose.kube.report import APPROXIMATED, DROPPED, MAPPED
from compose.load import written_services
from compose.load import load_project
from tests.helpers import CORPUS, REPO
from tests.kube.support import (KUBERNETES_VERSIONS, client_round_trip, convert_file,
                                load_options, validate)

AWESOME = CORPUS / "awesome-compose"
FILES = sorted(p for p in AWESOME.rglob("*compose*.y*ml")) + \
    sorted((REPO / "stacks").glob("*/compose.yaml"))
# files berth itself refuses to load (none today): file -> what the error says
REFUSED: dict[str, str] = {}


def _id(path) -> str:
    return str(path.relative_to(AWESOME if AWESOME in path.parents else REPO))


def _convert(path):
    try:
        return convert_file(path)
    except ComposeError as err:
        if _id(path) in REFUSED:
            pytest.skip(f"berth refuses to load it: {err}")
        raise


def test_the_corpus_is_here_and_every_file_loads():
    if not AWESOME.is_dir():
        pytest.skip(f"awesome-compose not found at {AWESOME}")
    assert len(FILES) >= 40
    refused = {}
    for path in FILES:
        try:
            load_project(load_options(path))
        except ComposeError as err:
            refused[_id(path)] = str(err)
    assert set(refused) == set(REFUSED), refused
    print(f"{len(FILES) - len(refused)} of {len(FILES)} files load; refused: {refused}")


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_converts_to_valid_objects(path):
    conversion = _convert(path)
    bodies = [m.body for m in conversion.manifests]
    assert any(m.service for m in conversion.manifests), "no workload"
    for body in bodies:
        for version in KUBERNETES_VERSIONS:
            validate(dict(body), version)
        assert client_round_trip(dict(body)) == body
    assert checks.problems(list(conversion.manifests)) == []
    assert "hostPath" not in yaml.safe_dump(bodies)


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_report_names_every_written_key(path):
    conversion = _convert(path)
    written = written_services(load_options(path))
    for service in conversion.report.services:
        keys = {o.key for o in service.outcomes}
        wrote = written[service.service]
        expected = {k for k in wrote if k != "deploy"} | \
            {f"deploy.{k}" for k in wrote.get("deploy") or {}}
        assert keys == expected, service.service
        for o in service.outcomes:
            assert o.outcome in (MAPPED, APPROXIMATED, DROPPED) and o.detail, o


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
@pytest.mark.parametrize("path", FILES, ids=_id)
def test_kubectl_kustomize_renders_the_base(path, tmp_path):
    conversion = _convert(path)
    kustomize.write(tmp_path / "base", conversion, "demo")
    out = subprocess.run(["kubectl", "kustomize", str(tmp_path / "base")], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    rendered = [doc for doc in yaml.safe_load_all(out.stdout) if doc]
    assert sorted((d["kind"], d["metadata"]["name"]) for d in rendered) == \
        sorted((m.kind, m.name) for m in conversion.manifests)
    assert {d["metadata"]["namespace"] for d in rendered} == {"demo"}
