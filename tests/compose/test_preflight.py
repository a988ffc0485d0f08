"""The checks `up` makes before it makes anything, each on its own."""
import textwrap

import pytest

from compose.errors import ComposeError
from compose.labels import PROJECT, SERVICE, ContainerInfo
from compose.load import LoadOptions, load_project
from compose.observe import Observed
from compose.preflight import (CHECKS, Target, check_external_resources, check_ports_free,
                               check_services_runnable)
from tests.compose.fake_backend import FakeBackend


def target(tmp_path, text, observed=Observed(), scale=None):
    (tmp_path / "compose.yaml").write_text(textwrap.dedent(text))
    project = load_project(LoadOptions(cwd=str(tmp_path), project_name="demo", environ={}))
    return Target(project, list(project.services), observed, FakeBackend(), scale or {})


def test_the_checks_are_named_and_all_run():
    assert [c.__name__ for c in CHECKS] == ["check_providers", "check_external_resources",
                                           "check_services_runnable", "check_devices",
                                           "check_ports_free"]


def test_an_external_volume_must_exist(tmp_path):
    text = """
        services: {app: {image: x, volumes: [keep:/data]}}
        volumes: {keep: {external: true, name: kept}}
    """
    with pytest.raises(ComposeError, match="external volume 'kept' not found"):
        check_external_resources(target(tmp_path, text))
    check_external_resources(target(tmp_path, text, Observed(volumes=frozenset({"kept"}))))


def test_an_unused_external_network_is_not_checked(tmp_path):
    text = """
        services: {app: {image: x, networks: [front]}}
        networks: {front: {}, other: {external: true}}
    """
    check_external_resources(target(tmp_path, text))


def test_what_the_backend_refuses_names_the_service(tmp_path):
    text = "services: {app: {image: x, security_opt: ['seccomp=/p.json']}}"
    with pytest.raises(ComposeError, match=r"^service 'app': security_opt"):
        check_services_runnable(target(tmp_path, text))


def test_a_port_range_and_a_random_port_are_not_checked(tmp_path):
    t = target(tmp_path, "services: {app: {image: x, ports: ['8000-8010:80', '80']}}")
    t.backend.taken_ports.add(("0.0.0.0", 8000, "tcp"))
    check_ports_free(t)


def test_a_port_taken_by_another_service_of_the_project_is_refused(tmp_path):
    web = ContainerInfo("c1", "demo-web-1", {PROJECT: "demo", SERVICE: "web"}, "running",
                        None, None, "x", "sha256:x", [], 0, 0, 0,
                        ports=["0.0.0.0:8080->80/tcp"])
    t = target(tmp_path, "services: {api: {image: x, ports: ['8080:80']}}", Observed((web,)))
    t.backend.taken_ports.add(("0.0.0.0", 8080, "tcp"))
    with pytest.raises(ComposeError, match="service 'api': .*already in use"):
        check_ports_free(t)


def test_scaling_a_service_with_a_fixed_port_is_refused(tmp_path):
    with pytest.raises(ComposeError, match=r"published twice \(api #1 and api #2\)"):
        check_ports_free(target(tmp_path, "services: {api: {image: x, ports: ['8080:80']}}",
                                scale={"api": 2}))


def test_observed_containers_by_service_one_offs_and_state():
    def c(service, number, status="running", oneoff=False):
        return ContainerInfo(f"{service}{number}", f"demo-{service}-{number}",
                             {PROJECT: "demo", SERVICE: service, "com.docker.compose.container-number":
                              str(number), "com.docker.compose.oneoff": str(oneoff)},
                             status, None, None, "x", "x", [], 0, 0, 0)

    observed = Observed((c("web", 2), c("db", 1, "exited"), c("web", 1), c("web", 9, oneoff=True)))
    assert [i.name for i in observed.of()] == ["demo-db-1", "demo-web-1", "demo-web-2"]
    assert [i.name for i in observed.of(["web"], running=True)] == ["demo-web-1", "demo-web-2"]
    assert [i.name for i in observed.of(["web"], oneoff=True)][-1] == "demo-web-9"


def test_a_provider_service_is_an_error_naming_it_before_anything_is_made(tmp_path):
    from compose import service
    from tests.compose.fake_backend import FakeBackend

    project = target(tmp_path, """
        services:
          app: {image: x, depends_on: [db]}
          db: {provider: {type: awesomecloud, options: {type: mysql}}}
    """).project
    fake = FakeBackend().has_image("x")
    with pytest.raises(ComposeError, match="service 'db': provider services \\(type "
                                           "'awesomecloud'\\) are run by docker compose plugins"):
        service.up(project, fake)
    assert fake.changes() == []
