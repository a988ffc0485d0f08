"""The base on disk: a file per object, whole or not at all, secrets for root only."""
import os
import stat

import pytest
import yaml

from compose.errors import ComposeError
from compose.kube import kustomize
from tests.kube.support import convert_text


@pytest.fixture
def conversion(tmp_path):
    (tmp_path / "pw.txt").write_text("s3cret")
    return convert_text(tmp_path, """
        services:
          app:
            image: app
            command: [sh, -c, "echo one\\necho two\\n"]
            secrets: [pw]
            networks: [a]
        networks: {a: {}}
        secrets: {pw: {file: ./pw.txt}}
    """)


def test_files_kustomization_and_modes(conversion, tmp_path):
    out = tmp_path / "base"
    kustomize.write(out, conversion, "prod")
    kustomization = yaml.safe_load((out / "kustomization.yaml").read_text())
    assert kustomization["namespace"] == "prod"
    assert kustomization["resources"] == [kustomize.file_name(m) for m in conversion.manifests]
    assert sorted(p.name for p in out.iterdir()) == sorted(
        kustomization["resources"] + ["kustomization.yaml", "REPORT.md"])
    assert stat.S_IMODE((out / "secret-secret-pw.yaml").stat().st_mode) == 0o600
    assert stat.S_IMODE((out / "deployment-app.yaml").stat().st_mode) == 0o644
    for m in conversion.manifests:
        assert yaml.safe_load((out / kustomize.file_name(m)).read_text()) == m.body


def test_yaml_reads_well(conversion):
    policy = next(m for m in conversion.manifests if m.kind == "NetworkPolicy")
    assert "&id" not in kustomize.to_yaml(policy.body)  # no anchors for shared selectors
    app = next(m for m in conversion.manifests if m.kind == "Deployment")
    assert "- |\n" in kustomize.to_yaml(app.body)  # a multi-line argument as a block


def test_an_earlier_base_is_replaced_whole(conversion, tmp_path):
    out = tmp_path / "base"
    kustomize.write(out, conversion, None)
    (out / "service-gone.yaml").write_text("left from an earlier conversion")
    kustomize.write(out, conversion, None)
    assert not (out / "service-gone.yaml").exists()
    assert sorted(os.listdir(tmp_path)) == ["base", "compose.yaml", "pw.txt"]


def test_a_file_or_foreign_directory_is_not_replaced(conversion, tmp_path):
    (tmp_path / "taken").write_text("mine")
    with pytest.raises(ComposeError, match="is not the output of berth kube convert"):
        kustomize.write(tmp_path / "taken", conversion, None)
    assert (tmp_path / "taken").read_text() == "mine"
    assert sorted(os.listdir(tmp_path)) == ["compose.yaml", "pw.txt", "taken"]
