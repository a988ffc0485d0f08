"""Real compose files (awesome-compose, compose-go and podman-compose test data).

Every file compose accepts must load, and `berth config` of it must validate against
the official compose schema; every file compose rejects must give a clear error.
"""
import json
import os

import jsonschema
import pytest
import yaml

from compose.errors import ComposeError
from compose.load import LoadOptions, load_project
from compose.render import config_tree, to_yaml
from tests.helpers import CORPUS, OFFICIAL_SCHEMA, require_shared

require_shared()

# corpus file -> what the error must say (files compose itself rejects, and fragments
# meant only to be merged, extended or included)
INVALID = {
    "compose-go/loader/testdata/compose-depends-on-cycle.yaml": "dependency cycle",
    "compose-go/loader/testdata/compose-depends-on-profile-no-cycle.yaml": "dependency cycle",
    "compose-go/loader/testdata/compose-depends-on-self.yaml": "depends on itself",
    "compose-go/loader/testdata/compose-include-cycle.yaml": "include cycle",
    "compose-go/loader/testdata/extends/base.yaml": "neither an image nor a build",
    "compose-go/loader/testdata/include/dir/compose.yaml": "extra.env not found",
    "compose-go/loader/testdata/remote/cycle/compose-cycle.yaml": "not found",
    "compose-go/loader/testdata/remote/cycle/compose.yaml": "not found",
    "compose-go/loader/testdata/remote/nested/compose.yaml": "not found",
    "podman-compose/tests/integration/deps/docker-compose-conditional-stopped.yaml":
        "'stopped' is not one of",
    "podman-compose/tests/integration/extends_w_empty_service/common-services.yml":
        "neither an image nor a build",
    "podman-compose/tests/integration/extends_w_file/common-services.yml":
        "unknown top-level key 'webapp'",
    "podman-compose/tests/integration/extends_w_file/docker-compose.yml":
        "unknown top-level key 'webapp'",
    "podman-compose/tests/integration/filesystem/compose_symlink/docker-compose.yml":
        "top level must be a mapping",
    "podman-compose/tests/integration/include_relative_paths/docker-compose.yaml":
        "local.env not found",
    "podman-compose/tests/integration/include_relative_paths/sub/included.yaml":
        "local.env not found",
    "podman-compose/tests/integration/interpolation/docker-compose-colon-question-error.yml":
        "required variable NOT_A_VARIABLE is missing a value: Missing variable",
    "podman-compose/tests/integration/interpolation/docker-compose-command-interpolation.yml":
        "required variable CMD_VAR is missing a value",
    "podman-compose/tests/integration/interpolation/docker-compose-question-error.yml":
        "required variable NOT_A_VARIABLE is missing a value",
    "podman-compose/tests/integration/invalid_secrets_dict/docker-compose_build.yaml":
        "services.tester.build",
    "podman-compose/tests/integration/invalid_secrets_dict/docker-compose_service.yaml":
        "services.tester.secrets: must be a list, not a mapping",
    "podman-compose/tests/integration/lifetime/up_single_container_many_times_with_ports/docker-compose.yml":
        "services.container1.ports: must be a list, not a string",
    "podman-compose/tests/integration/merge/reset_and_override_tags/override_tag_attribute/docker-compose.yaml":
        "undefined service 'db'",
    "podman-compose/tests/integration/merge/reset_and_override_tags/reset_tag_attribute/docker-compose.yaml":
        "undefined service 'db'",
    "podman-compose/tests/integration/merge/reset_and_override_tags/reset_tag_attribute_w_extends/common-services.yml":
        "unknown top-level key 'webapp'",
    "podman-compose/tests/integration/merge/reset_and_override_tags/reset_tag_attribute_w_extends/docker-compose.yml":
        "unknown top-level key 'webapp'",
    "podman-compose/tests/integration/merge/volumes_merge/docker-compose.override.yaml":
        "neither an image nor a build",
    "podman-compose/tests/integration/parse-error/docker-compose-error.yml": "invalid YAML",
    "podman-compose/tests/integration/secrets/docker-compose.yaml":
        "services.test.secrets[6].type: unknown key 'type'",
    "podman-compose/tests/integration/ulimit/docker-compose.yaml":
        "services.ulimit1.ulimits: must be a mapping, not a string",
    "podman-compose/tests/integration/ulimit_build/docker-compose.yaml": "services.ulimit1.build",
    "podman-compose/tests/integration/yamlmagic/docker-compose.yml":
        "services.node-red.network: unknown key 'network'",
}

# multi-file projects: base file + override files, as their tests run them
MERGED = {
    "podman-compose/tests/integration/merge/reset_and_override_tags/override_tag_attribute":
        ["docker-compose.yaml", "docker-compose.override_attribute.yaml"],
    "podman-compose/tests/integration/merge/reset_and_override_tags/override_tag_service":
        ["docker-compose.yaml", "docker-compose.override_service.yaml"],
    "podman-compose/tests/integration/merge/reset_and_override_tags/reset_tag_attribute":
        ["docker-compose.yaml", "docker-compose.reset_attribute.yaml"],
    "podman-compose/tests/integration/merge/reset_and_override_tags/reset_tag_service":
        ["docker-compose.yaml", "docker-compose.reset_service.yaml"],
    "podman-compose/tests/integration/merge/volumes_merge":
        ["docker-compose.yaml", "docker-compose.override.yaml"],
    "podman-compose/tests/integration/multicompose":
        ["d1/docker-compose.yml", "d2/docker-compose.yml"],
}

FILES = sorted(str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*")
               if p.suffix in (".yml", ".yaml") and p.is_file())


@pytest.fixture(scope="module")
def official():
    return jsonschema.Draft7Validator(json.loads(OFFICIAL_SCHEMA.read_text()))


def load(directory, files):
    return load_project(LoadOptions(cwd=str(directory), files=tuple(files),
                                    environ={"HOME": "/root"}))


def test_corpus_is_there():
    assert len(FILES) > 150
    assert all(name in FILES for name in INVALID)


@pytest.mark.parametrize("name", [f for f in FILES if f not in INVALID])
def test_valid_file_loads_and_config_matches_official_schema(name, official):
    path = CORPUS / name
    project = load(path.parent, [str(path)])
    errors = list(official.iter_errors(config_tree(project)))
    assert not errors, f"{errors[0].message} at {list(errors[0].absolute_path)}"


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_file_gives_clear_error(name):
    path = CORPUS / name
    with pytest.raises(ComposeError) as err:
        load(path.parent, [str(path)])
    text = str(err.value)
    assert INVALID[name] in text
    assert text.startswith("/") or text.startswith("include cycle"), text  # names the file
    assert "Traceback" not in text


@pytest.mark.parametrize("directory", sorted(MERGED))
def test_merged_projects(directory, official):
    project = load(CORPUS / directory, [str(CORPUS / directory / f) for f in MERGED[directory]])
    errors = list(official.iter_errors(config_tree(project)))
    assert not errors, errors[0].message


def test_awesome_compose_all_load():
    names = [f for f in FILES if f.startswith("awesome-compose/")]
    assert len(names) >= 39
    for name in names:
        load((CORPUS / name).parent, [str(CORPUS / name)])


def test_merge_results():
    base = "podman-compose/tests/integration/merge/reset_and_override_tags/"
    attr = load(CORPUS / base / "override_tag_attribute",
                [str(CORPUS / base / "override_tag_attribute" / f)
                 for f in MERGED[base + "override_tag_attribute"]])
    assert [p.published for p in attr.services["app"].ports] == ["8111"]
    assert list(attr.services["app"].depends_on) == ["other_db"]
    reset = load(CORPUS / base / "reset_tag_service",
                 [str(CORPUS / base / "reset_tag_service" / f)
                  for f in MERGED[base + "reset_tag_service"]])
    assert list(reset.services) == ["app2"]
    vols = load(CORPUS / "podman-compose/tests/integration/merge/volumes_merge",
                [str(CORPUS / "podman-compose/tests/integration/merge/volumes_merge" / f)
                 for f in MERGED["podman-compose/tests/integration/merge/volumes_merge"]])
    sources = {m.target: os.path.basename(m.source) for m in vols.services["web"].volumes}
    assert set(sources.values()) == {"override.txt"} and len(sources) == 3


@pytest.mark.parametrize("name", [f for f in FILES if f not in INVALID])
def test_config_yaml_reads_back_and_matches_pyyaml(name):
    """berth writes `config`'s YAML itself (PyYAML's representer is slow): the text must
    read back as the same tree and be what PyYAML's safe dumper writes."""
    path = CORPUS / name
    tree = config_tree(load(path.parent, [str(path)]))
    text = to_yaml(tree)
    assert yaml.safe_load(text) == tree
    assert text == yaml.dump(tree, Dumper=_LiteralDumper, sort_keys=False,
                             default_flow_style=False, allow_unicode=True, width=1 << 16)


class _LiteralDumper(yaml.SafeDumper):
    """PyYAML writing multi-line strings as `|` blocks, as berth does."""


_LiteralDumper.add_representer(str, lambda dumper, value: dumper.represent_scalar(
    "tag:yaml.org,2002:str", value, style="|" if "\n" in value else None))


def test_tricky_scalars_read_back():
    values = ["yes", "No", "1", "1.5", "0x10", ".inf", "2001-01-01", "~", "null", "", " x",
              "x ", "a: b", "a:b", "#x", "x #y", "x#y", "-", "- x", "-x", "--flag", "?x", ":x",
              "'", '"', "it's", "@x", "`x", "%x", "*x", "&x", "!x", "|x", ">x", "[x]", "{x}",
              "---", "...", "a, b", "ünïcode", "tab\there", "multi\nline\n", "no end\nline",
              "two\n\n", "\nleading", "trailing \nspace", "  indented\nblock", "ctrl\x01"]
    tree = {"values": values, "keys": {v: v for v in values if v}, "nested": [[1, [2]], {}],
            "empty": [], "none": None, "flags": [True, False], "numbers": [0, -1, 0.25]}
    assert yaml.safe_load(to_yaml(tree)) == tree
