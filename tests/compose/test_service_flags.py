"""The service API's newer options on the fake backend: --always-recreate-deps,
--all-resources, restart of a changed service, one-shots under `up --wait`, the WARN
lines of Docker-only keys, --dry-run (compose.dryrun) and --compatibility names."""
import dataclasses
import textwrap

import pytest

from compose import service
from compose.dryrun import DryRunBackend
from compose.events import Note, Step
from compose.load import LoadOptions, load_project
from compose.reconcile import DownOptions
from tests.compose.fake_backend import FakeBackend

STACK = """
    services:
      db: {image: busybox}
      api: {image: busybox, depends_on: [db]}
    networks: {spare: {}}
    volumes: {unused: {}}
"""


def load(tmp_path, text=STACK):
    (tmp_path / "compose.yaml").write_text(textwrap.dedent(text))
    return load_project(LoadOptions(cwd=str(tmp_path), project_name="demo", environ={}))


@pytest.fixture
def fake():
    return FakeBackend().has_image("busybox")


def up(project, backend, **options):
    events = []
    service.up(project, backend, service.UpRequest(**options), events.append)
    return events


def test_force_recreate_of_a_named_service_leaves_its_dependencies_unless_asked(tmp_path, fake):
    project = load(tmp_path)
    up(project, fake)
    fake.calls.clear()
    up(project, fake, services=("api",), force_recreate=True)
    assert fake.changes("create") == ["create demo-api-1"]
    fake.calls.clear()
    up(project, fake, services=("api",), always_recreate_deps=True)
    assert fake.changes("create") == ["create demo-db-1"]


def test_all_resources_makes_the_networks_and_volumes_no_service_uses(tmp_path, fake):
    up(load(tmp_path), fake)
    assert "create network demo_spare" not in fake.changes()
    up(load(tmp_path), fake, all_resources=True)
    assert {"create network demo_spare", "create volume demo_unused"} <= set(fake.changes())


def test_restart_of_a_changed_service_says_it_keeps_its_old_config(tmp_path, fake):
    """docker/compose#10033: restart does not apply a changed file, and says so."""
    up(load(tmp_path), fake)
    events = []
    service.restart("demo", load(tmp_path), fake, (), None, events.append)
    assert not [e for e in events if isinstance(e, Note)]
    changed = load(tmp_path, STACK.replace("api: {image: busybox,",
                                           "api: {image: busybox, environment: [X=1],"))
    events.clear()
    service.restart("demo", changed, fake, (), None, events.append)
    assert [e.text for e in events if isinstance(e, Note)] == [
        "WARN container demo-api-1 keeps the configuration it was created with: service "
        "'api' changed since. `restart` does not apply the change; `berth up -d api` does"]
    assert fake.changes("restart")[-2:] == ["restart demo-db-1", "restart demo-api-1"]


def test_an_unchanged_one_shot_is_not_recreated_and_up_wait_accepts_it(tmp_path, fake):
    """docker/compose#11808 and #10596."""
    project = load(tmp_path, """
        services:
          migrate: {image: busybox, restart: "on-failure:3"}
          app:
            image: busybox
            depends_on: {migrate: {condition: service_completed_successfully}}
    """)
    fake.behave("migrate", exit_code=0)
    up(project, fake)
    fake.calls.clear()
    up(project, fake)
    assert fake.changes("create") == [] and fake.changes("remove") == []
    service.wait_ready("demo", project, fake, ["migrate", "app"], 1.0)


@pytest.mark.parametrize("key, line", [
    ("models: [llm]", "service 'app': 'models': berth runs no model runner"),
    ("use_api_socket: true", "service 'app': 'use_api_socket': berth has no Docker API socket"),
])
def test_docker_only_keys_are_a_warn_line(tmp_path, fake, key, line):
    text = f"services:\n  app:\n    image: busybox\n    {key}\n"
    if key.startswith("models"):
        text += "models:\n  llm: {model: ai/smollm2}\n"
    events = up(load(tmp_path, text), fake)
    notes = [e.text for e in events if isinstance(e, Note)]
    assert any(n.startswith(f"WARN {line}") for n in notes), notes


def test_dry_run_reports_every_step_and_changes_nothing(tmp_path, fake):
    project = load(tmp_path)
    dry = DryRunBackend(fake)
    events = up(project, dry)
    assert fake.changes() == []
    steps = [f"{e.kind} {e.name} {e.status}" for e in events if isinstance(e, Step)]
    assert "Network demo_default Created" in steps and "Container demo-api-1 Started" in steps
    # what exists is read through: on a project that runs, a dry-run down removes it all
    up(project, fake)
    fake.calls.clear()
    events = []
    service.down("demo", project, DryRunBackend(fake), DownOptions(), events.append)
    assert fake.changes() == [] and len(fake.containers("demo")) == 2
    assert "Container demo-db-1 Removed" in [f"{e.kind} {e.name} {e.status}" for e in events
                                            if isinstance(e, Step)]


def test_compatibility_names_containers_as_docker_compose_v1(tmp_path, fake):
    up(dataclasses.replace(load(tmp_path), separator="_"), fake)
    assert fake.changes("create")[-2:] == ["create demo_db_1", "create demo_api_1"]


def test_the_bake_file_of_build_print(tmp_path):
    from compose.service_images import bake_file

    project = load(tmp_path, """
        services:
          web:
            build: {context: ., args: {V: "1"}, target: prod, tags: ["me/web:1"]}
          db: {image: busybox}
    """)
    assert bake_file(project, ["web", "db"]) == {
        "group": {"default": {"targets": ["web"]}},
        "target": {"web": {"context": str(tmp_path), "dockerfile": "Dockerfile",
                           "args": {"V": "1"}, "tags": ["demo-web", "me/web:1"],
                           "target": "prod"}}}
