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


def test_top_level_keys():
    assert keys(OURS) == keys(THEIRS)


def test_service_keys():
    assert keys(OURS, "definitions", "service") == keys(THEIRS, "definitions", "service")


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
