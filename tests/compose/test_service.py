"""The compose service API on an in-memory backend: what up, down, stop, start, run...
do, in which order, and how they fail, without root or a single container."""
import textwrap

import pytest

from compose import service
from compose.backend import ExecRequest
from compose.errors import ComposeError
from compose.events import DONE, FAILED, Note, Output, Step
from compose.execute import UpError
from compose.labels import ONEOFF
from compose.load import LoadOptions, load_project
from compose.reconcile import DownOptions
from tests.compose.fake_backend import FakeBackend

STACK = """
    services:
      db:
        image: busybox
        volumes: [data:/data]
      api:
        image: busybox
        depends_on: [db]
        ports: ["8080:80"]
      web:
        image: busybox
        depends_on: [api]
    volumes:
      data:
"""


def load(tmp_path, text=STACK, name="demo"):
    (tmp_path / "compose.yaml").write_text(textwrap.dedent(text))
    return load_project(LoadOptions(cwd=str(tmp_path), project_name=name, environ={}))


@pytest.fixture
def fake():
    return FakeBackend().has_image("busybox")


def up(project, fake, **options):
    events = []
    service.up(project, fake, service.UpRequest(**options), events.append)
    return events


def steps(events, state=None):
    return [f"{e.kind} {e.name} {e.status}" for e in events
            if isinstance(e, Step) and (state is None or e.state == state)]


# --- up -------------------------------------------------------------------------------------

def test_up_creates_resources_then_containers_in_dependency_order(tmp_path, fake):
    events = up(load(tmp_path), fake)
    assert fake.changes() == [
        "create network demo_default", "create volume demo_data",
        "create demo-db-1", "start demo-db-1", "create demo-api-1", "start demo-api-1",
        "create demo-web-1", "start demo-web-1"]
    assert "Container demo-web-1 Started" in steps(events, DONE)


def test_up_of_an_unchanged_project_changes_nothing(tmp_path, fake):
    project = load(tmp_path)
    up(project, fake)
    fake.calls.clear()
    events = up(project, fake)
    assert fake.changes() == []
    assert steps(events, DONE) == [f"Container demo-{s}-1 Running" for s in ("db", "api", "web")]


def test_a_changed_service_is_recreated_and_nothing_else(tmp_path, fake):
    up(load(tmp_path), fake)
    fake.calls.clear()
    up(load(tmp_path, STACK.replace("ports: [\"8080:80\"]", "ports: [\"8081:80\"]")), fake)
    assert fake.changes() == ["stop demo-api-1", "remove demo-api-1", "create demo-api-1",
                              "start demo-api-1"]


def test_dependents_with_restart_true_restart_when_their_dependency_is_recreated(tmp_path, fake):
    text = STACK.replace("depends_on: [api]", "depends_on: {api: {condition: service_started, "
                                              "restart: true}}")
    up(load(tmp_path, text), fake)
    fake.calls.clear()
    up(load(tmp_path, text.replace("8080:80", "8081:80")), fake)
    assert fake.changes()[-1] == "restart demo-web-1"


def test_force_recreate_and_no_recreate(tmp_path, fake):
    project = load(tmp_path)
    up(project, fake)
    fake.calls.clear()
    up(project, fake, force_recreate=True)
    assert fake.changes("create") == ["create demo-db-1", "create demo-api-1", "create demo-web-1"]
    fake.calls.clear()
    up(load(tmp_path, STACK.replace("8080:80", "8082:80")), fake, no_recreate=True)
    assert fake.changes() == []


def test_healthy_condition_waits_for_health(tmp_path, fake):
    text = STACK.replace("depends_on: [db]", "depends_on: {db: {condition: service_healthy}}")
    fake.behave("db", health="healthy")
    events = up(load(tmp_path, text), fake)
    assert "Container demo-db-1 Healthy" in steps(events, DONE)
    assert fake.changes().index("start demo-db-1") < fake.changes().index("create demo-api-1")


def test_an_unhealthy_dependency_fails_up_and_its_dependents_are_not_made(tmp_path, fake):
    text = STACK.replace("depends_on: [db]", "depends_on: {db: {condition: service_healthy}}")
    fake.behave("db", health="unhealthy", output=["starting", "disk full"])
    with pytest.raises(UpError) as err:
        up(load(tmp_path, text), fake)
    message = str(err.value)
    assert "service 'api': dependency 'db' failed: container demo-db-1 is unhealthy" in message
    assert "| disk full" in message  # the dependency's last lines
    assert "service 'web': dependency 'api' failed" in message
    assert "create demo-api-1" not in fake.changes()


def test_healthy_condition_on_a_dependency_without_healthcheck(tmp_path, fake):
    text = STACK.replace("depends_on: [db]", "depends_on: {db: {condition: service_healthy}}")
    with pytest.raises(UpError, match="has no healthcheck, so it can never be healthy"):
        up(load(tmp_path, text), fake)


def test_completed_successfully_lets_dependents_start_after_a_one_shot(tmp_path, fake):
    text = STACK.replace("depends_on: [db]",
                         "depends_on: {db: {condition: service_completed_successfully}}")
    fake.behave("db", exit_code=0)
    events = up(load(tmp_path, text), fake)
    assert "Container demo-db-1 Exited" in steps(events, DONE)
    assert "start demo-web-1" in fake.changes()


def test_a_one_shot_that_fails_fails_its_dependents(tmp_path, fake):
    text = STACK.replace("depends_on: [db]",
                         "depends_on: {db: {condition: service_completed_successfully}}")
    fake.behave("db", exit_code=3)
    with pytest.raises(UpError, match="container demo-db-1 exited with code 3"):
        up(load(tmp_path, text), fake)


def test_a_dependency_that_is_not_required_may_fail(tmp_path, fake):
    text = STACK.replace("depends_on: [db]",
                         "depends_on: {db: {condition: service_healthy, required: false}}")
    fake.behave("db", health="unhealthy")
    up(load(tmp_path, text), fake)
    assert "start demo-web-1" in fake.changes()


def test_a_start_that_fails_names_the_service(tmp_path, fake):
    fake.behave("web", start_error='exec: "nope": executable file not found in $PATH')
    with pytest.raises(UpError) as err:
        up(load(tmp_path), fake)
    assert str(err.value).startswith("service 'web': container demo-web-1: exec: \"nope\"")


def test_post_start_hooks_run_after_the_start_and_a_failing_one_fails_up(tmp_path, fake):
    text = STACK.replace("depends_on: [api]", "depends_on: [api]\n        post_start: "
                                              "[{command: [migrate]}, {command: [seed]}]")
    up(load(tmp_path, text), fake)
    assert fake.changes()[-3:] == ["start demo-web-1", "exec demo-web-1 migrate",
                                   "exec demo-web-1 seed"]
    fake.exec_codes["migrate"] = 2
    with pytest.raises(UpError, match=r"post_start\[0\] hook exited with status 2"):
        up(load(tmp_path, text), fake, force_recreate=True)


def test_orphans_are_reported_and_removed_when_asked(tmp_path, fake):
    up(load(tmp_path), fake)
    smaller = STACK.replace("      web:\n        image: busybox\n        depends_on: [api]\n", "")
    events = up(load(tmp_path, smaller), fake)
    assert any(isinstance(e, Note) and "orphan containers (web)" in e.text for e in events)
    assert "remove demo-web-1" not in fake.changes()
    up(load(tmp_path, smaller), fake, remove_orphans=True)
    assert "remove demo-web-1" in fake.changes()


def test_scale_up_and_down(tmp_path, fake):
    project = load(tmp_path)
    up(project, fake, scale={"web": 3})
    assert fake.changes("create")[-3:] == ["create demo-web-1", "create demo-web-2",
                                           "create demo-web-3"]
    fake.calls.clear()
    up(project, fake, scale={"web": 1})
    assert sorted(fake.changes()) == ["remove demo-web-2", "remove demo-web-3",
                                      "stop demo-web-2", "stop demo-web-3"]  # in parallel


def test_a_recreated_container_mounts_its_anonymous_volumes_again(tmp_path, fake):
    text = STACK.replace("volumes: [data:/data]", "volumes: [data:/data, /cache]")
    up(load(tmp_path, text), fake)
    before = fake.by_name("demo-db-1").anonymous_volumes["/cache"]
    up(load(tmp_path, text), fake, force_recreate=True)
    assert fake.by_name("demo-db-1").anonymous_volumes["/cache"] == before
    up(load(tmp_path, text), fake, force_recreate=True, renew_anon_volumes=True)
    assert fake.by_name("demo-db-1").anonymous_volumes["/cache"] != before


def test_create_only_makes_the_containers(tmp_path, fake):
    up(load(tmp_path), fake, start=False)
    assert fake.changes("start") == []
    assert {i.status for i in fake.infos.values()} == {"created"}


def test_services_named_come_with_their_dependencies_unless_no_deps(tmp_path, fake):
    project = load(tmp_path)
    assert service.up(project, fake, service.UpRequest(services=("api",))) == ["api", "db"]
    assert "create demo-web-1" not in fake.changes()
    fresh = FakeBackend().has_image("busybox")
    service.up(project, fresh, service.UpRequest(services=("web",), no_deps=True))
    assert fresh.changes("create") == ["create network demo_default", "create demo-web-1"]


def test_images_are_built_or_pulled_as_needed(tmp_path):
    fake = FakeBackend()
    text = "services: {app: {build: .}, cache: {image: redis}}"
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    events = up(load(tmp_path, text), fake)
    assert fake.changes("build") == ["build demo-app"] and fake.changes("pull") == ["pull redis"]
    assert Output("app", "building demo-app") in events
    fake.unpullable.add("busybox")
    with pytest.raises(ComposeError, match="image busybox is not present and could not be pulled"):
        up(load(tmp_path, "services: {x: {image: busybox}}"), fake)


# --- preflight: nothing is created when up can't succeed ------------------------------------

def test_a_missing_external_network_fails_before_anything_is_made(tmp_path, fake):
    text = textwrap.dedent(STACK) + "networks:\n  default:\n    name: outside\n    external: true\n"
    with pytest.raises(ComposeError, match="network outside declared as external"):
        up(load(tmp_path, text), fake)
    assert fake.changes() == []


def test_a_refused_security_option_fails_before_anything_is_made(tmp_path, fake):
    text = STACK.replace("depends_on: [api]", "depends_on: [api]\n"
                                              "        security_opt: [seccomp=./profile.json]")
    with pytest.raises(ComposeError, match="service 'web': security_opt 'seccomp=./profile.json'"):
        up(load(tmp_path, text), fake)
    assert fake.changes() == []


def test_a_host_port_in_use_fails_before_anything_is_made(tmp_path, fake):
    fake.taken_ports.add(("0.0.0.0", 8080, "tcp"))
    with pytest.raises(ComposeError, match="service 'api': .*8080/tcp: already in use"):
        up(load(tmp_path), fake)
    assert fake.changes() == []


def test_a_port_published_twice_is_refused(tmp_path, fake):
    with pytest.raises(ComposeError, match="host port 8080/tcp is published twice"):
        up(load(tmp_path), fake, scale={"api": 2})


def test_a_port_held_by_the_service_s_own_container_is_fine(tmp_path, fake):
    project = load(tmp_path)
    up(project, fake)
    fake._set(fake.by_name("demo-api-1").id, ports=["0.0.0.0:8080->80/tcp"])
    fake.taken_ports.add(("0.0.0.0", 8080, "tcp"))  # by demo-api-1 itself
    up(project, fake, force_recreate=True)


# --- down and the others --------------------------------------------------------------------

def test_down_removes_dependents_first_then_networks(tmp_path, fake):
    project = load(tmp_path)
    up(project, fake)
    fake.calls.clear()
    service.down("demo", project, fake)
    changes = fake.changes()
    # dependents stop first; a stopped container's removal may overlap the next stops
    assert fake.changes("stop") == ["stop demo-web-1", "stop demo-api-1", "stop demo-db-1"]
    for name in ("demo-web-1", "demo-api-1", "demo-db-1"):
        assert changes.index(f"stop {name}") < changes.index(f"remove {name}")
    assert changes[-1] == "remove network demo_default" and len(changes) == 7
    assert "demo_data" in fake.vols  # volumes outlive down


def test_down_v_removes_volumes_once_and_rmi_local_the_built_images(tmp_path, fake):
    text = STACK.replace("volumes: [data:/data]", "volumes: [data:/data, /cache]")
    text = text.replace("      web:\n        image: busybox\n", "      web:\n        build: .\n")
    (tmp_path / "Dockerfile").write_text("FROM busybox\n")
    project = load(tmp_path, text)
    up(project, fake)
    fake.calls.clear()
    service.down("demo", project, fake, DownOptions(volumes=True, rmi="local"))
    assert fake.vols == {}
    assert fake.changes("remove")[-2:] == ["remove volume demo_data", "remove image demo-web"]


def test_a_stop_that_did_not_wait_says_why(tmp_path, fake):
    """A PID 1 that cannot get the stop signal is killed at once; down and stop say so."""
    project = load(tmp_path)
    up(project, fake)
    fake.stop_notes["demo-api-1"] = "killed at once: PID 1 has no handler for SIGTERM"
    notes = []
    service.stop("demo", project, fake, report=lambda e: notes.append(e))
    said = [e.text for e in notes if isinstance(e, Note)]
    assert said == ["container demo-api-1: killed at once: PID 1 has no handler for SIGTERM"]
    up(project, fake)
    notes.clear()
    service.down("demo", project, fake, report=lambda e: notes.append(e))
    assert [e.text for e in notes if isinstance(e, Note)] == said


def test_down_of_a_half_created_project(tmp_path, fake):
    project = load(tmp_path)
    fake.behave("web", start_error="no such file")
    with pytest.raises(UpError):
        up(project, fake)
    service.down("demo", project, fake)
    assert fake.infos == {} and fake.nets == {}


def test_down_of_some_services_keeps_the_network(tmp_path, fake):
    project = load(tmp_path)
    up(project, fake)
    service.down("demo", project, fake, DownOptions(services=("web",)))
    assert [i.name for i in fake.infos.values()] == ["demo-db-1", "demo-api-1"]
    assert "demo_default" in fake.nets


def test_down_without_the_compose_file_orders_by_labels(tmp_path, fake):
    up(load(tmp_path), fake)
    fake.calls.clear()
    service.down("demo", None, fake)
    assert fake.changes("stop") == ["stop demo-web-1", "stop demo-api-1", "stop demo-db-1"]


def test_pre_stop_hooks_run_before_the_stop_and_a_failure_is_reported_after(tmp_path, fake):
    text = STACK.replace("depends_on: [api]", "depends_on: [api]\n        pre_stop: "
                                              "[{command: [flush]}]")
    project = load(tmp_path, text)
    up(project, fake)
    fake.exec_codes["flush"] = 1
    fake.calls.clear()
    with pytest.raises(ComposeError, match=r"service 'web': pre_stop\[0\] hook exited with status 1"):
        service.down("demo", project, fake)
    changes = fake.changes()
    assert changes[:2] == ["exec demo-web-1 flush", "stop demo-web-1"]
    assert "remove demo-web-1" in changes
    assert fake.infos == {}  # everything went all the same


def test_stop_then_start_in_dependency_order(tmp_path, fake):
    project = load(tmp_path)
    up(project, fake)
    fake.calls.clear()
    service.stop("demo", project, fake)
    service.start("demo", project, fake)
    assert fake.changes() == ["stop demo-web-1", "stop demo-api-1", "stop demo-db-1",
                              "start demo-db-1", "start demo-api-1", "start demo-web-1"]


def test_restart_dependencies_first(tmp_path, fake):
    project = load(tmp_path)
    up(project, fake)
    fake.calls.clear()
    service.restart("demo", project, fake, ("api", "db"))
    assert fake.changes() == ["restart demo-db-1", "restart demo-api-1"]


def test_kill_pause_unpause_touch_running_containers_only(tmp_path, fake):
    project = load(tmp_path)
    up(project, fake)
    service.stop("demo", project, fake, ("web",))
    fake.calls.clear()
    service.signal("demo", fake, "pause")
    service.signal("demo", fake, "unpause", ("db",))
    service.signal("demo", fake, "kill", ("api",), "SIGTERM")
    assert sorted(fake.changes("pause")) == ["pause demo-api-1", "pause demo-db-1"]
    assert fake.changes("unpause") == ["unpause demo-db-1"]
    assert fake.changes("kill") == ["kill demo-api-1 SIGTERM"]


def test_rm_removes_stopped_containers_and_with_stop_running_ones(tmp_path, fake):
    project = load(tmp_path)
    up(project, fake)
    service.stop("demo", project, fake, ("web",))
    removed = service.rm("demo", project, fake)
    assert [c.name for c in removed] == ["demo-web-1"]
    removed = service.rm("demo", project, fake, ("db",), stop=True)
    assert [c.name for c in removed] == ["demo-db-1"] and "stop demo-db-1" in fake.changes()


def test_naming_a_service_without_containers_is_an_error(tmp_path, fake):
    up(load(tmp_path), fake)
    with pytest.raises(ComposeError, match=r"no container found for service\(s\): nope"):
        service.start("demo", None, fake, ("nope",))
    with pytest.raises(ComposeError, match="service 'web' has no container number 2"):
        service.container("demo", fake, "web", 2)


# --- one-off commands -----------------------------------------------------------------------

def test_run_brings_up_dependencies_then_a_one_off_container(tmp_path, fake):
    project = load(tmp_path)
    info = service.run(project, fake, service.RunRequest(
        "web", command=["echo", "hi"], env=["A=1"], rm=True, name="once"))
    assert fake.changes("create")[-3:] == ["create demo-db-1", "create demo-api-1", "create once"]
    request = fake.requests[info.id]
    assert request.oneoff and request.auto_remove and not request.use_aliases
    assert request.service.command == ("echo", "hi") and request.service.environment["A"] == "1"
    assert request.labels[ONEOFF] == "True" and request.service.restart == "no"


def test_run_with_no_deps_and_its_own_ports_volumes_user(tmp_path, fake):
    project = load(tmp_path)
    info = service.run(project, fake, service.RunRequest(
        "api", no_deps=True, publish=["9000:90"], volumes=["./src:/src", "cache:/cache"],
        user="nobody", workdir="/src", entrypoint=[]))
    svc = fake.requests[info.id].service
    assert fake.changes("create") == [f"create {info.name}"]
    assert [(p.published, p.target) for p in svc.ports] == [("9000", 90)]  # not 8080
    assert [(m.type, m.source, m.target) for m in svc.volumes] == [
        ("bind", str(tmp_path / "src"), "/src"), ("volume", "cache", "/cache")]
    assert (svc.user, svc.working_dir, svc.entrypoint, svc.command) == ("nobody", "/src", (), ())


def test_exec_needs_a_running_container(tmp_path, fake):
    project = load(tmp_path)
    up(project, fake)
    process = service.exec_("demo", fake, "web", 1, ExecRequest(["ls"]))
    assert process.wait() == (0, None)
    service.stop("demo", project, fake, ("web",))
    with pytest.raises(ComposeError, match="service 'web' is not running"):
        service.exec_("demo", fake, "web", 1, ExecRequest(["ls"]))


def test_wait_ready_accepts_one_shots_that_succeeded(tmp_path, fake):
    """docker/compose#10596: `up --wait` must not fail on an init job that exited 0."""
    project = load(tmp_path, "services: {job: {image: busybox}, app: {image: busybox}}")
    fake.behave("job", exit_code=0)
    up(project, fake)
    service.wait_ready("demo", project, fake, ["job", "app"])
    fake.behave("app", health="unhealthy")
    up(project, fake, force_recreate=True, services=("app",))
    with pytest.raises(ComposeError, match="service 'app': container demo-app-1 is unhealthy"):
        service.wait_ready("demo", project, fake, ["app"])


def test_wait_gives_each_exit_code(tmp_path, fake):
    fake.behave("db", exit_code=4)
    project = load(tmp_path)
    up(project, fake, services=("db",))
    assert [(i.name, code) for i, code in service.wait("demo", fake, ["db"])] == [("demo-db-1", 4)]


def test_failed_steps_are_reported_as_failed(tmp_path, fake):
    fake.behave("api", start_error="boom")
    events = []
    with pytest.raises(UpError):
        service.up(load(tmp_path), fake, service.UpRequest(), events.append)
    assert "Container demo-api-1 Error" in steps(events, FAILED)
    assert "Container demo-web-1 Error" in steps(events, FAILED)  # never made: its dependency failed
