"""A conversion as a Kustomize base on disk: one YAML file per object, kustomization.yaml
and REPORT.md. Same conversion, same bytes. The directory appears whole or not at all:
it is written beside its place and renamed into it."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Mapping

import yaml

from ..errors import ComposeError
from .convert import Conversion
from .model import Manifest

MARKER = "# Written by berth kube convert"
KUSTOMIZATION = "kustomization.yaml"
REPORT = "REPORT.md"


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """Block style, no anchors; multi-line strings as literal blocks, so files and
    scripts read."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value and value == value.strip(" ") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def to_yaml(body: Mapping[str, Any]) -> str:
    return yaml.dump(dict(body), Dumper=_Dumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=True, width=1 << 16)


def file_name(m: Manifest) -> str:
    return f"{m.kind.lower()}-{m.name}.yaml"


def kustomization(conversion: Conversion, namespace: str | None) -> str:
    body: dict[str, Any] = {"apiVersion": "kustomize.config.k8s.io/v1beta1",
                            "kind": "Kustomization"}
    if namespace:
        body["namespace"] = namespace
    body["resources"] = [file_name(m) for m in conversion.manifests]
    return (f"{MARKER} from compose project {conversion.report.project};\n"
            f"# {REPORT} says what became of each compose key.\n" + to_yaml(body))


def files(conversion: Conversion, namespace: str | None) -> dict[str, str]:
    """file name -> content, for every file of the base."""
    out = {file_name(m): to_yaml(m.body) for m in conversion.manifests}
    out[KUSTOMIZATION] = kustomization(conversion, namespace)
    out[REPORT] = conversion.report.markdown()
    return out


def _ours(directory: Path) -> bool:
    """Whether `directory` may be replaced: empty, or an earlier conversion's output."""
    entries = os.listdir(directory)
    if not entries:
        return True
    try:
        return (directory / KUSTOMIZATION).read_text().startswith(MARKER)
    except OSError:
        return False


def write(directory: Path, conversion: Conversion, namespace: str | None) -> None:
    """Write the base to `directory`, replacing an earlier one there."""
    directory = directory.absolute()
    if directory.exists() and not (directory.is_dir() and _ours(directory)):
        raise ComposeError(f"{directory} exists and is not the output of berth kube convert; "
                           "choose another directory with -o")
    directory.parent.mkdir(parents=True, exist_ok=True)
    fresh = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
        os.chmod(fresh, 0o755)
        secrets = {file_name(m) for m in conversion.manifests if m.kind == "Secret"}
        for name, text in files(conversion, namespace).items():
            fd = os.open(fresh / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                         0o600 if name in secrets else 0o644)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
        _replace(directory, fresh)
    except BaseException:
        shutil.rmtree(fresh, ignore_errors=True)
        raise


def _replace(directory: Path, fresh: Path) -> None:
    """Rename `fresh` to `directory`; an earlier `directory` is put back if that fails."""
    if not directory.exists():
        os.rename(fresh, directory)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{directory.name}.old.", dir=directory.parent))
    os.rename(directory, old / "base")
    try:
        os.rename(fresh, directory)
    except BaseException:
        os.rename(old / "base", directory)
        raise
    finally:
        shutil.rmtree(old, ignore_errors=True)
