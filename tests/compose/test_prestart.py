"""pre_start hooks: containers run to completion before a service's containers start
(planned as text, carried out on the fake backend)."""
import textwrap

import pytest

from compose import service
from compose.events import Output
from compose.execute import UpError
from compose.graph import start_levels
from compose.labels import HOOK
from compose.load import LoadOptions, load_project
from compose.observe import Observed
from compose.reconcile import UpOptions, plan_up
from compose.reconcile import DownOptions
from tests.compose.fake_backend import FakeBackend

STACK = """
    services:
      db:
        image: busybox
      app:
        image: busybox
        depends_on: [db]
        volumes: [data:/data]
        pre_start:
          - command: migrate --all
          - {command: seed, image: "seeder:1", environment: {SEED: "1"}}
    volumes: {data: {}}
"""


def load(tmp_path, text=STACK):
    (tmp_path / "compose.yaml").write_text(textwrap.dedent(text))
    return load_project(LoadOptions(cwd=str(tmp_path), project_name="demo", environ={}))


@pytest.fixture
def fake():
    return FakeBackend().has_image("busybox").has_image("seeder:1")


def up(project, fake, **options):
    events = []
    service.up(project, fake, service.UpRequest(**options), events.append)
    return events


def test_the_plan_runs_the_hooks_after_creating_the_service_s_containers(tmp_path):
    project = load(tmp_path)
    plan = plan_up(project, Observed(), {}, start_levels(project), UpOptions())
    assert plan.render() == (
        "create network default\ncreate volume data\n"
        "create container demo-db-1\ncreate container demo-app-1\n"
        "run pre_start[0] of app\nrun pre_start[1] of app\n")


def test_hooks_run_in_order_in_their_own_containers_before_the_service_starts(tmp_path, fake):
    events = up(load(tmp_path), fake)
    assert fake.changes() == [
        "create network demo_default", "create volume demo_data",
        "create demo-db-1", "start demo-db-1", "create demo-app-1",
        "create demo-app-pre_start-0", "start demo-app-pre_start-0",
        "remove demo-app-pre_start-0",
        "create demo-app-pre_start-1", "start demo-app-pre_start-1",
        "remove demo-app-pre_start-1", "start demo-app-1"]
    assert Output("app pre_start[0]", "ran migrate --all") in events


def test_a_hook_container_is_the_service_s_image_or_its_own_with_the_volumes(tmp_path, fake):
    seen = []
    create = fake.create

    def recording(project, request):
        seen.append(request)
        return create(project, request)
    fake.create = recording
    up(load(tmp_path), fake)
    first, second = [r for r in seen if r.name.startswith("demo-app-pre_start")]
    app = fake.by_name("demo-app-1")
    assert (first.service.image, first.service.command) == ("busybox", ("migrate", "--all"))
    assert (second.service.image, second.service.environment) == ("seeder:1", {"SEED": "1"})
    assert first.service.volumes_from == (f"container:{app.id}",) and first.oneoff
    assert first.labels[HOOK] == "pre_start" and not first.service.ports


def test_a_failed_hook_stops_up_naming_it_and_keeps_its_container(tmp_path, fake):
    fake.exec_codes["seed"] = 3
    with pytest.raises(UpError) as err:
        up(load(tmp_path), fake)
    assert str(err.value).startswith(
        "service 'app': pre_start[1] exited with code 3; its container "
        "demo-app-pre_start-1 is kept for `berth logs app` until `berth down`")
    assert "| ran seed" in str(err.value)
    assert "start demo-app-1" not in fake.changes()
    kept = fake.by_name("demo-app-pre_start-1")
    assert kept.status == "exited" and kept.exit_code == 3

    # the next up removes it before running the hooks again
    fake.exec_codes["seed"] = 0
    fake.calls.clear()
    plan = plan_up(load(tmp_path), Observed(tuple(fake.containers("demo"))), {},
                   [["db"], ["app"]], UpOptions())
    assert "remove container demo-app-pre_start-1\n" in plan.render()
    up(load(tmp_path), fake)
    assert fake.changes()[0] == "remove demo-app-pre_start-1"
    assert fake.changes()[-1] == "start demo-app-1"


def test_down_removes_a_kept_hook_container(tmp_path, fake):
    fake.exec_codes["migrate"] = 1
    with pytest.raises(UpError):
        up(load(tmp_path), fake)
    service.down("demo", load(tmp_path), fake, DownOptions())
    assert fake.containers("demo") == []


def test_hooks_run_again_only_when_no_container_of_the_service_runs(tmp_path, fake):
    project = load(tmp_path)
    up(project, fake)
    fake.calls.clear()
    up(project, fake)  # unchanged, running: nothing
    up(project, fake, scale={"app": 2})  # a replica more next to a running one: no hooks
    assert not [c for c in fake.changes() if "pre_start" in c]
    service.stop("demo", project, fake, ("app",))
    fake.calls.clear()
    up(project, fake)  # stopped: started again after its hooks
    assert fake.changes("create") == ["create demo-app-pre_start-0", "create demo-app-pre_start-1"]


def test_create_only_runs_no_hook(tmp_path, fake):
    up(load(tmp_path), fake, start=False)
    assert not [c for c in fake.changes() if "pre_start" in c]
