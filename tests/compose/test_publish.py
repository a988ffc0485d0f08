"""`publish` (compose.publish): the OCI artifact of a compose file, and what can not
travel to another machine."""
import hashlib
import json
import textwrap

import pytest

from compose.errors import ComposeError
from compose.load import LoadOptions, load_project
from compose.publish import ARTIFACT_TYPE, FILE_MEDIA_TYPE, artifact, check_publishable


def load(tmp_path, text):
    (tmp_path / "compose.yaml").write_text(textwrap.dedent(text))
    return load_project(LoadOptions(cwd=str(tmp_path), project_name="demo",
                                    environ={"TOKEN": "t"}))


def test_the_artifact_is_docker_compose_s_layout():
    made = artifact("services: {}\n", "2026-01-01T00:00:00Z")
    manifest = json.loads(made.manifest)
    assert manifest["artifactType"] == ARTIFACT_TYPE
    assert manifest["config"]["mediaType"] == "application/vnd.oci.empty.v1+json"
    [layer] = manifest["layers"]
    assert layer["mediaType"] == FILE_MEDIA_TYPE
    assert layer["annotations"]["com.docker.compose.file"] == "compose.yaml"
    data = made.blobs[layer["digest"]]
    assert data == b"services: {}\n" and layer["size"] == len(data)
    assert layer["digest"] == "sha256:" + hashlib.sha256(data).hexdigest()
    assert made.blobs[manifest["config"]["digest"]] == b"{}"
    assert made.digest == "sha256:" + hashlib.sha256(made.manifest).hexdigest()


@pytest.mark.parametrize("text, message", [
    ("services: {app: {build: .}}", "service 'app' has no image"),
    ("services: {app: {image: x, volumes: ['./data:/data']}}", "bind-mounts"),
    ("services: {app: {image: x, environment: [A=1]}}", "publish them with --with-env"),
    ("services: {app: {image: x, secrets: [s]}}\nsecrets: {s: {file: ./s.txt}}",
     "secret 's' is the file"),
    ("services: {app: {image: x, secrets: [s]}}\nsecrets: {s: {environment: TOKEN}}",
     "secret 's' comes from the environment"),
])
def test_what_can_not_be_published(tmp_path, text, message):
    with pytest.raises(ComposeError, match=message):
        check_publishable(load(tmp_path, text), with_env=False)


def test_environment_goes_with_with_env(tmp_path):
    check_publishable(load(tmp_path, "services: {app: {image: x, environment: [A=1]}}"),
                      with_env=True)
