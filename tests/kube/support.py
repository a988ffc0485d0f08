"""Helpers for the tests of `berth kube`: load a project as `up` does and convert it,
and hold what a conversion made against the official schemas and client models."""
from __future__ import annotations

import functools
import os
import textwrap
from pathlib import Path

from compose.kube.convert import Conversion, convert
from compose.kube.model import Options, Source
from compose.kube.source import read_host
from compose.load import written_services
from compose.load import LoadOptions, load_project

HERE = Path(__file__).resolve().parent
DIGEST = "sha256:" + "ab" * 32
KUBERNETES_VERSIONS = ("1.30", "1.37")


def load_options(path: Path, profiles: tuple[str, ...] = ()) -> LoadOptions:
    path = path.resolve()
    return LoadOptions(cwd=str(path.parent), files=(str(path),), environ={}, profiles=profiles)


def convert_file(path: Path, options: Options = Options(), profiles: tuple[str, ...] = (),
                 exposed: dict | None = None) -> Conversion:
    """Convert a compose file; a build: service runs an image of registry.test, as if
    berth had built and pushed it."""
    opts = load_options(path, profiles)
    project = load_project(opts)
    images = {name: f"registry.test/{project.name}-{name}@{DIGEST}" if svc.build else svc.image
              for name, svc in project.services.items()}
    return convert(Source(project, written_services(opts), images, read_host, exposed or {}),
                   options)


def convert_text(tmp_path: Path, text: str, **kw) -> Conversion:
    path = tmp_path / "compose.yaml"
    path.write_text(textwrap.dedent(text))
    return convert_file(path, **kw)


def objects(conversion: Conversion) -> dict[tuple[str, str], dict]:
    """(kind, name) -> body."""
    return {(m.kind, m.name): m.body for m in conversion.manifests}


def pod_spec(conversion: Conversion, kind: str, name: str) -> dict:
    return objects(conversion)[(kind, name)]["spec"]["template"]["spec"]


def container(conversion: Conversion, kind: str, name: str) -> dict:
    return pod_spec(conversion, kind, name)["containers"][0]


def outcomes(conversion: Conversion, service: str) -> list[tuple[str, str, str]]:
    report = next(s for s in conversion.report.services if s.service == service)
    return [(o.key, o.outcome, o.detail) for o in report.outcomes]


@functools.cache
def _validator():
    """kubernetes-validate's own validate(), with its schema files read once (it reads
    them on every call otherwise)."""
    from kubernetes_validate import utils

    utils.schema_contents = functools.lru_cache(maxsize=None)(utils.schema_contents)
    return utils.validate


def validate(body: dict, version: str) -> None:
    """kubernetes-validate --strict for `version`: raises on an invalid object."""
    _validator()(body, version, strict=True)


def client_round_trip(body: dict) -> dict:
    """`body` deserialized into the kubernetes client's model and serialized back: the
    same when every field is one the model knows."""
    import kubernetes.client as k8s

    model = getattr(k8s, f"V1{body['kind']}")
    return k8s.ApiClient().sanitize_for_serialization(model.from_dict(body))


def reachable_cluster() -> str | None:
    """Why apply tests cannot run here, or None when KUBECONFIG names a cluster that
    answers."""
    if not os.environ.get("KUBECONFIG"):
        return "KUBECONFIG is not set: no cluster to apply to"
    try:
        from kubernetes import client, config

        api = config.new_client_from_config()
        client.VersionApi(api).get_code(_request_timeout=5)
    except Exception as err:  # noqa: BLE001 - any reason it cannot be reached
        return f"the cluster of KUBECONFIG does not answer: {str(err).splitlines()[0]}"
    return None
