"""The loader, stage by stage, through LoadOptions (no process environment involved)."""
import textwrap

import pytest

from compose.errors import ComposeError
from compose.load import LoadOptions, load_project
from compose.model import Logging


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def load(tmp_path, **kw):
    kw.setdefault("environ", {})
    return load_project(LoadOptions(cwd=str(kw.pop("cwd", tmp_path)), **kw))


def test_discovery_in_parent_directory_with_override(tmp_path):
    write(tmp_path / "compose.yaml", "services: {web: {image: a}}\n")
    write(tmp_path / "compose.override.yaml", "services: {web: {image: b}}\n")
    sub = tmp_path / "deep" / "er"
    sub.mkdir(parents=True)
    project = load(tmp_path, cwd=sub)
    assert project.services["web"].image == "b"
    assert project.working_dir == str(tmp_path)
    assert project.compose_files == (str(tmp_path / "compose.yaml"),
                                     str(tmp_path / "compose.override.yaml"))


def test_no_compose_file(tmp_path):
    with pytest.raises(ComposeError, match="no compose file found"):
        load(tmp_path)


def test_stdin(tmp_path):
    project = load(tmp_path, files=("-",), read_stdin=lambda: "services: {a: {image: x}}")
    assert project.services["a"].image == "x"


def test_project_name_precedence(tmp_path):
    d = tmp_path / "My Dir.2"
    write(d / "compose.yaml", "name: fromfile\nservices: {a: {image: x}}\n")
    assert load(tmp_path, cwd=d).name == "fromfile"
    assert load(tmp_path, cwd=d, environ={"COMPOSE_PROJECT_NAME": "fromenv"}).name == "fromenv"
    assert load(tmp_path, cwd=d, project_name="flag",
                environ={"COMPOSE_PROJECT_NAME": "fromenv"}).name == "flag"
    write(d / "compose.yaml", "services: {a: {image: x}}\n")
    assert load(tmp_path, cwd=d).name == "mydir2"
    with pytest.raises(ComposeError, match="invalid project name 'Bad Name'"):
        load(tmp_path, cwd=d, project_name="Bad Name")


def test_dotenv_interpolation_and_shell_precedence(tmp_path):
    write(tmp_path / ".env", "TAG=v1\nPORT=8000\nexport NAME='lit$TAG'\n")
    write(tmp_path / "compose.yaml", """
        services:
          web:
            image: "app:${TAG}"
            ports: ["${PORT}:80"]
            environment: [NAME, MISSING, "X=${NAME}"]
            deploy: {replicas: "${N:-2}"}
    """)
    project = load(tmp_path)
    web = project.services["web"]
    assert web.image == "app:v1" and web.scale == 2
    assert web.ports[0].published == "8000"
    assert web.environment == {"NAME": "lit$TAG", "MISSING": None, "X": "lit$TAG"}
    assert load(tmp_path, environ={"TAG": "shell"}).services["web"].image == "app:shell"


def test_env_file_option_replaces_dotenv(tmp_path):
    write(tmp_path / ".env", "TAG=v1\n")
    write(tmp_path / "other.env", "TAG=v2\n")
    write(tmp_path / "compose.yaml", "services: {web: {image: 'app:${TAG}'}}\n")
    assert load(tmp_path, env_files=("other.env",)).services["web"].image == "app:v2"
    with pytest.raises(ComposeError, match="env file .*missing.env not found"):
        load(tmp_path, env_files=("missing.env",))


def test_compose_file_from_dotenv(tmp_path):
    write(tmp_path / ".env", "COMPOSE_FILE=a.yaml:b.yaml\nCOMPOSE_PROFILES=dev\n")
    write(tmp_path / "a.yaml", "services: {web: {image: a}, dbg: {image: d, profiles: [dev]}}\n")
    write(tmp_path / "b.yaml", "services: {web: {image: b}}\n")
    project = load(tmp_path)
    assert project.services["web"].image == "b" and "dbg" in project.services


def test_service_env_file_and_environment_precedence(tmp_path):
    write(tmp_path / "svc.env", "A=from_file\nB=from_file\nC=${HOSTVAR}\n")
    write(tmp_path / "compose.yaml", """
        services:
          web:
            image: x
            env_file: [svc.env, {path: optional.env, required: false}]
            environment: {B: explicit}
    """)
    web = load(tmp_path, environ={"HOSTVAR": "h"}).services["web"]
    assert web.environment == {"A": "from_file", "B": "explicit", "C": "h"}
    write(tmp_path / "compose.yaml", "services: {web: {image: x, env_file: nope.env}}\n")
    with pytest.raises(ComposeError) as err:
        load(tmp_path)
    assert "services.web.env_file[0]" in str(err.value) and "nope.env not found" in str(err.value)


def test_profiles(tmp_path):
    write(tmp_path / "compose.yaml", """
        services:
          backend: {image: b}
          db: {image: m}
          phpmyadmin: {image: p, depends_on: [db], profiles: [debug]}
          frontend: {image: f, profiles: [frontend]}
    """)
    assert sorted(load(tmp_path).services) == ["backend", "db"]
    assert sorted(load(tmp_path, profiles=("debug",)).services) == ["backend", "db", "phpmyadmin"]
    assert len(load(tmp_path, profiles=("*",)).services) == 4
    assert "frontend" in load(tmp_path, targets=("frontend",)).services
    assert load(tmp_path).profiles == ("debug", "frontend")


def test_dependency_in_inactive_profile(tmp_path):
    write(tmp_path / "compose.yaml", """
        services:
          app: {image: a, depends_on: [tool]}
          tool: {image: t, profiles: [tools]}
    """)
    with pytest.raises(ComposeError, match="only in profile"):
        load(tmp_path)


def test_extends_same_and_other_file_with_relative_paths(tmp_path):
    write(tmp_path / "common" / "base.yaml", """
        services:
          base:
            image: base
            env_file: ./container.env
            environment: {A: "1"}
    """)
    write(tmp_path / "common" / "container.env", "FROM_FILE=yes\n")
    write(tmp_path / "app" / "compose.yaml", """
        services:
          web:
            extends: {file: ../common/base.yaml, service: base}
            environment: {B: "2"}
          important:
            extends: web
            cpu_shares: 10
    """)
    project = load(tmp_path, cwd=tmp_path / "app")
    assert project.services["web"].environment == {"FROM_FILE": "yes", "A": "1", "B": "2"}
    assert project.services["important"].image == "base"
    assert project.services["important"].resources.cpu_shares == 10


def test_extends_cycle_and_missing(tmp_path):
    write(tmp_path / "compose.yaml", "services: {a: {extends: b, image: x}, b: {extends: a}}\n")
    with pytest.raises(ComposeError, match="circular extends"):
        load(tmp_path)
    write(tmp_path / "compose.yaml", "services: {a: {extends: nope, image: x}}\n")
    with pytest.raises(ComposeError, match="extends undefined service 'nope'"):
        load(tmp_path)


def test_include_with_own_directory_and_env(tmp_path):
    write(tmp_path / "sub" / "compose.yaml", """
        services:
          db:
            image: "postgres:${PG}"
            volumes: [./data:/data]
    """)
    write(tmp_path / "sub" / ".env", "PG=15\n")
    write(tmp_path / "compose.yaml", """
        include: [sub/compose.yaml]
        services:
          web: {image: w, depends_on: [db]}
    """)
    project = load(tmp_path)
    assert project.services["db"].image == "postgres:15"
    assert project.services["db"].volumes[0].source == str(tmp_path / "sub" / "data")
    assert load(tmp_path, environ={"PG": "16"}).services["db"].image == "postgres:16"


def test_include_conflict(tmp_path):
    write(tmp_path / "sub.yaml", "services: {web: {image: other}}\n")
    write(tmp_path / "compose.yaml", "include: [sub.yaml]\nservices: {web: {image: w}}\n")
    with pytest.raises(ComposeError, match="conflicts"):
        load(tmp_path)


def test_defaults_networks_and_names(tmp_path):
    write(tmp_path / "compose.yaml", """
        name: demo
        services:
          web: {image: w, networks: [front]}
          db: {image: d}
          host: {image: h, network_mode: host}
        networks:
          front: {}
          outside: {external: true}
        volumes:
          data:
          named: {name: custom}
    """)
    project = load(tmp_path)
    assert project.networks["front"].name == "demo_front"
    assert project.networks["default"].name == "demo_default"
    assert project.networks["outside"].name == "outside"
    assert project.volumes["data"].name == "demo_data"
    assert project.volumes["named"].name == "custom"
    assert list(project.services["db"].networks) == ["default"]
    assert project.services["host"].networks == {}


@pytest.mark.parametrize("body, path, message", [
    ("services: {web: {image: x, networks: [nope]}}", "services.web.networks.nope",
     "undefined network 'nope'"),
    ("services: {web: {image: x, volumes: ['data:/d']}}", "services.web.volumes[0]",
     "undefined volume 'data'"),
    ("services: {web: {image: x, depends_on: [db]}}", "services.web.depends_on.db",
     "undefined service 'db'"),
    ("services: {web: {image: x, secrets: [s]}}", "services.web.secrets[0]",
     "undefined secret 's'"),
    ("services: {web: {image: x, network_mode: 'service:x'}}", "services.web.network_mode",
     "undefined service 'x'"),
    ("services: {web: {build: .}, db: {}}", "services.db", "neither an image nor a build"),
    ("services: {web: {image: x, restart: sometimes}}", "services.web.restart",
     "invalid restart policy"),
    ("services: {web: {image: x, stop_grace_period: 10 years}}", "services.web.stop_grace_period",
     "invalid duration"),
    ("services: {web: {image: x, mem_limit: lots}}", "services.web.mem_limit", "invalid size"),
    ("services: {web: {image: x, imagee: y}}", "services.web.imagee", "unknown key 'imagee'"),
    ("services: {web: {image: x, ports: ['1:2:3:4']}}", "services.web.ports[0]", "invalid host IP"),
    ("services: {web: {image: [x]}}", "services.web.image", "must be a string, not a list"),
    ("servces: {}", "servces", "unknown top-level key 'servces'"),
    ("services: {web: {image: x, depends_on: {db: {condition: stopped}}}, db: {image: y}}",
     "services.web.depends_on.db.condition", "'stopped' is not one of"),
])
def test_bad_input_names_file_path_and_line(tmp_path, body, path, message):
    write(tmp_path / "compose.yaml", body + "\n")
    with pytest.raises(ComposeError) as err:
        load(tmp_path)
    text = str(err.value)
    assert text.startswith(str(tmp_path / "compose.yaml") + ":1:"), text
    assert path in text and message in text, text


def test_error_line_in_block_yaml(tmp_path):
    write(tmp_path / "compose.yaml", """
        services:
          web:
            image: x
            ports:
              - "8080:80"
              - "nope:80"
    """)
    with pytest.raises(ComposeError) as err:
        load(tmp_path)
    assert err.value.line == 7 and err.value.path == ("services", "web", "ports", 1)


def test_required_variable_error(tmp_path):
    write(tmp_path / "compose.yaml", "services:\n  web:\n    image: ${IMG:?set IMG}\n")
    with pytest.raises(ComposeError) as err:
        load(tmp_path)
    assert str(err.value).endswith("compose.yaml:3:5: services.web.image: "
                                   "required variable IMG is missing a value: set IMG")


def test_cycle_names_the_chain(tmp_path):
    write(tmp_path / "compose.yaml", """
        services:
          a: {image: x, depends_on: [b]}
          b: {image: x, depends_on: [c]}
          c: {image: x, depends_on: [a]}
    """)
    with pytest.raises(ComposeError, match=r"dependency cycle: (a -> b -> c -> a|b -> c -> a -> b|c -> a -> b -> c)"):
        load(tmp_path)


def test_typed_model_values(tmp_path):
    write(tmp_path / "compose.yaml", """
        services:
          web:
            image: x
            healthcheck: {test: "true", interval: 1m30s, timeout: 500ms, retries: 5}
            stop_grace_period: 1m
            deploy: {resources: {limits: {memory: 512m, cpus: "0.5", pids: 100}}}
            ulimits: {nofile: {soft: 10, hard: 20}}
            secrets: [s]
            user: "1000"
        secrets:
          s: {file: ./s.txt}
    """)
    web = load(tmp_path).services["web"]
    assert web.healthcheck.test == ("CMD-SHELL", "true")
    assert web.healthcheck.interval == 90 and web.healthcheck.timeout == 0.5
    assert web.stop_grace_period == 60
    assert (web.resources.memory, web.resources.cpus, web.resources.pids) == (512 << 20, 0.5, 100)
    assert web.ulimits["nofile"].hard == 20
    assert web.secrets[0].target == "/run/secrets/s"
    assert web.user == "1000"


def test_logging_options(tmp_path):
    write(tmp_path / "compose.yaml", """
        services:
          a: {image: x, logging: {driver: json-file, options: {max-size: 10m, max-file: "3"}}}
          b: {image: x, logging: {driver: local}}
          c: {image: x}
    """)
    project = load(tmp_path)
    assert project.services["a"].logging == Logging("json-file", 10 << 20, 3)
    assert project.services["b"].logging == Logging("local", 20 << 20, 5)
    assert project.services["c"].logging == Logging()
    write(tmp_path / "compose.yaml", "services: {a: {image: x, logging: {options: {max-file: '0'}}}}")
    with pytest.raises(ComposeError, match="max-file"):
        load(tmp_path)


def test_older_cpu_and_process_keys(tmp_path):
    write(tmp_path / "compose.yaml", """
        services:
          a: {image: x, cpu_quota: 50000, cpu_period: 100000, cpuset: "0-1", mem_swappiness: 0,
              oom_score_adj: -500, uts: host, mem_reservation: 1g}
    """)
    svc = load(tmp_path).services["a"]
    assert svc.resources.cpus == 0.5 and svc.resources.cpuset == "0-1"
    assert svc.resources.swappiness == 0 and svc.resources.memory_reservation == 1 << 30
    assert svc.oom_score_adj == -500 and svc.uts == "host"
