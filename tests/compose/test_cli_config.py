"""`berth config` through the real command line."""
import json
import textwrap

import pytest

COMPOSE = textwrap.dedent("""
    services:
      web:
        image: nginx:${TAG:-latest}
        ports: ["8080:80"]
        depends_on: [db]
      db:
        build: ./db
        profiles: [storage]
    volumes:
      data:
""")


def test_config_yaml_and_json(tmp_path, berth):
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    out = berth("--profile", "storage", "config", cwd=tmp_path, env={"TAG": "1.25"}, check=True)
    assert "image: nginx:1.25" in out.stdout and f"name: {tmp_path.name.lower()}" in out.stdout
    tree = json.loads(berth("--profile", "storage", "config", "--format", "json",
                            cwd=tmp_path, check=True).stdout)
    assert tree["services"]["db"]["build"]["context"] == str(tmp_path / "db")


def test_config_listings(tmp_path, berth):
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    args = ("-p", "demo", "--profile", "storage", "config")
    assert berth(*args, "--services", cwd=tmp_path).stdout.split() == ["web", "db"]
    assert berth(*args, "--volumes", cwd=tmp_path).stdout.split() == ["data"]
    assert berth(*args, "--profiles", cwd=tmp_path).stdout.split() == ["storage"]
    assert berth(*args, "--images", cwd=tmp_path).stdout.split() == ["nginx:latest", "demo-db"]
    quiet = berth(*args, "-q", cwd=tmp_path)
    assert quiet.returncode == 0 and quiet.stdout == ""


def test_bad_input_is_one_line_exit_1_no_traceback(tmp_path, berth):
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: x\n    prots: []\n")
    out = berth("config", cwd=tmp_path)
    assert out.returncode == 1
    assert out.stderr.strip() == (f"berth: {tmp_path}/compose.yaml:4:5: services.web.prots: "
                                  "unknown key 'prots'")
    assert "Traceback" not in out.stderr


def test_stdin_and_multiple_files(tmp_path, berth):
    (tmp_path / "a.yaml").write_text("services: {web: {image: a, environment: [X=1]}}\n")
    (tmp_path / "b.yaml").write_text("services: {web: {environment: [Y=2]}}\n")
    out = berth("-f", "a.yaml", "-f", "b.yaml", "config", "--format", "json", cwd=tmp_path,
                check=True)
    assert json.loads(out.stdout)["services"]["web"]["environment"] == {"X": "1", "Y": "2"}
    out = berth("-f", "-", "-p", "piped", "config", "--services", cwd=tmp_path,
                input="services: {one: {image: x}}\n", check=True)
    assert out.stdout.split() == ["one"]


def test_unknown_service(tmp_path, berth):
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    out = berth("--profile", "storage", "config", "nope", cwd=tmp_path)
    assert out.returncode == 1 and "no such service: nope" in out.stderr


NEWER = textwrap.dedent("""
    services:
      app:
        image: "busybox:${TAG:-1.36}"
        environment: ["TOKEN=${TOKEN:?set TOKEN}", "DEBUG=${DEBUG:+on}"]
        volumes: ["./data:/data", {type: image, source: "models:1", target: /models,
                                   image: {subpath: v2}}]
        pull_policy: daily
        pre_start: [{command: migrate, environment: {STEP: "1"}}]
        gpus: all
        deploy: {restart_policy: {condition: on-failure, max_attempts: 3, delay: 5s}}
        configs: [{source: conf, mode: 0440}]
        depends_on: [db]
      db: {image: busybox, build: ./db}
    configs: {conf: {content: "x: 1"}}
""")


def test_config_output_of_the_newer_keys_validates_against_the_official_schema(tmp_path, berth):
    """Every key berth reads appears in `config` output, which validates against the
    compose spec's schema; pre_start, newer than it, against berth's own."""
    import jsonschema

    from compose.validate import SCHEMA_PATH
    from tests.helpers import OFFICIAL_SCHEMA, require_shared

    require_shared()
    (tmp_path / "compose.yaml").write_text(NEWER)
    out = berth("config", "--format", "json", cwd=tmp_path, env={"TOKEN": "t"}, check=True)
    tree = json.loads(out.stdout)
    app = tree["services"]["app"]
    assert app["pre_start"] == [{"command": ["migrate"], "environment": {"STEP": "1"}}]
    assert app["volumes"][1] == {"type": "image", "source": "models:1", "target": "/models",
                                 "image": {"subpath": "v2"}}
    assert app["configs"] == [{"source": "conf", "mode": 0o440}]
    assert (app["pull_policy"], app["gpus"]) == ("daily", "all")
    jsonschema.validate(tree, json.loads(SCHEMA_PATH.read_text()))
    official = json.loads(OFFICIAL_SCHEMA.read_text())
    del app["pre_start"]  # newer than the reference schema (see test_schema_in_step)
    jsonschema.validate(tree, official)


def test_config_variables_environment_hash_and_raw_stages(tmp_path, berth):
    (tmp_path / "compose.yaml").write_text(NEWER)
    run = lambda *args, **kw: berth("config", *args, cwd=tmp_path, check=True, **kw).stdout  # noqa: E731
    assert run("--variables").splitlines() == [
        "NAME    REQUIRED   DEFAULT VALUE   ALTERNATE VALUE",
        "DEBUG   false                      on",
        "TAG     false      1.36",
        "TOKEN   true"]
    assert json.loads(run("--variables", "--format", "json").splitlines()[2]) == {
        "Name": "TOKEN", "Required": True, "DefaultValue": "", "PresenceValue": ""}
    env = {"TOKEN": "t"}
    assert "TOKEN=t" in run("--environment", env=env).splitlines()
    hashes = run("--hash", "*", env=env).split("\n")
    assert [line.split()[0] for line in hashes if line] == ["app", "db"]
    assert len(run("--hash", "app", env=env).split()[1]) == 64
    raw = json.loads(run("--no-interpolate", "--no-path-resolution", "--format", "json"))
    app = raw["services"]["app"]
    assert app["image"] == "busybox:${TAG:-1.36}" and app["volumes"][0]["source"] == "./data"
    bare = json.loads(run("--no-normalize", "--format", "json", env=env))
    assert "networks" not in bare and "networks" not in bare["services"]["app"]
    loose = json.loads(run("--no-consistency", "--format", "json", env=env))
    assert loose["services"]["app"]["image"] == "busybox:1.36"
    assert run("--models", env=env) == ""


def test_build_print_and_alpha_viz(tmp_path, berth):
    (tmp_path / "compose.yaml").write_text(NEWER)
    env = {"TOKEN": "t"}
    bake = json.loads(berth("-p", "demo", "build", "--print", cwd=tmp_path, env=env,
                            check=True).stdout)
    assert bake["group"]["default"]["targets"] == ["db"]
    assert bake["target"]["db"]["context"] == str(tmp_path / "db")
    out = berth("-p", "demo", "build", "--print", "--with-dependencies", "app", cwd=tmp_path,
                env=env, check=True)
    assert list(json.loads(out.stdout)["target"]) == ["db"]
    viz = berth("-p", "demo", "alpha", "viz", cwd=tmp_path, env=env, check=True).stdout
    assert viz == "demo\nlevel 1:\n  db\nlevel 2:\n  app <- db (started)\n"
    dot = berth("-p", "demo", "alpha", "viz", "--output", "dot", "--spaces",
                "--indentation-size", "2", cwd=tmp_path, env=env, check=True).stdout
    assert dot.startswith('digraph "demo" {\n  layout=dot;\n') and '  "app" -> "db";\n' in dot


@pytest.mark.parametrize("body, where", [
    ("    pre_start: [{user: root}]", "services.app.pre_start[0]: a pre_start hook needs a 'command'"),
    ("    pull_policy: every_", "services.app.pull_policy: invalid pull_policy 'every_'"),
    ("    pre_strat: []", "services.app.pre_strat: unknown key 'pre_strat'"),
    ("    deploy: {restart_policy: {max_attempts: many}}",
     "services.app.deploy.restart_policy.max_attempts"),
])
def test_bad_newer_keys_are_one_line_naming_file_service_key_and_line(tmp_path, berth, body, where):
    (tmp_path / "compose.yaml").write_text(f"services:\n  app:\n    image: busybox\n{body}\n")
    out = berth("config", cwd=tmp_path)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    [line] = out.stderr.strip().splitlines()
    assert line.startswith(f"berth: {tmp_path}/compose.yaml:4:") and where in line, line
