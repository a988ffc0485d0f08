"""berth's own schema accepts the same keys as the official compose schema."""
import json

from compose.validate import SCHEMA_PATH
from tests.helpers import OFFICIAL_SCHEMA, require_shared

require_shared()

OURS = json.loads(SCHEMA_PATH.read_text())
THEIRS = json.loads(OFFICIAL_SCHEMA.read_text())


def keys(schema, *path):
    node = schema
    for part in path:
        node = node[part]
    return set(node["properties"])


def newer(schema, *path):
    """Keys berth's schema documents as newer than the compose spec release of the
    reference schema."""
    node = schema
    for part in path:
        node = node[part]
    return {key for key, value in node["properties"].items()
            if value.get("description", "").startswith("Newer than the compose spec")}


def test_top_level_keys():
    assert keys(OURS) == keys(THEIRS)


def test_service_keys():
    path = ("definitions", "service")
    assert keys(OURS, *path) - newer(OURS, *path) == keys(THEIRS, *path)


def test_keys_newer_than_the_spec_are_documented_and_validated():
    """pre_start (compose-spec PR #647, docker compose 5.x) is newer than the reference
    schema: berth's own schema says so, and checks it."""
    assert newer(OURS, "definitions", "service") == {"pre_start"}
    hook = OURS["definitions"]["pre_start_hook"]["properties"]
    assert set(hook) == {"command", "image", "user", "privileged", "working_dir",
                         "environment", "per_replica"}


def test_resource_keys():
    for name in ("network", "volume", "secret", "config", "healthcheck", "model"):
        assert keys(OURS, "definitions", name) == keys(THEIRS, "definitions", name), name
    assert keys(OURS, "definitions", "deploy") == keys(THEIRS, "definitions", "deployment")
    assert keys(OURS, "definitions", "develop") == keys(THEIRS, "definitions", "development")


def test_build_and_volume_keys():
    ours_build = OURS["definitions"]["build"]["oneOf"][1]["properties"]
    theirs_build = THEIRS["definitions"]["service"]["properties"]["build"]["oneOf"][1]["properties"]
    assert set(ours_build) == set(theirs_build)
    ours_vol = OURS["definitions"]["service_volume"]["properties"]
    theirs_vol = THEIRS["definitions"]["service"]["properties"]["volumes"]["items"]["oneOf"][1]["properties"]
    assert set(ours_vol) == set(theirs_vol)
