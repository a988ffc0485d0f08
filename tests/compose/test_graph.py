from compose.graph import dependents, start_levels, stop_levels, with_dependencies
from compose.model import Dependency, Project, Service


def project(**deps):
    services = {name: Service(name=name, image="x",
                              depends_on={d: Dependency() for d in needs})
                for name, needs in deps.items()}
    return Project(name="p", working_dir="/", compose_files=(), services=services)


def test_levels_start_and_stop():
    p = project(web=["api", "cache"], api=["db"], cache=[], db=[], worker=["db"])
    assert start_levels(p) == [["cache", "db"], ["api", "worker"], ["web"]]
    assert stop_levels(p) == [["web"], ["api", "worker"], ["cache", "db"]]


def test_other_edges_count_as_dependencies():
    p = Project(name="p", working_dir="/", compose_files=(), services={
        "a": Service(name="a", image="x", network_mode="service:b"),
        "b": Service(name="b", image="x", volumes_from=("c:ro",)),
        "c": Service(name="c", image="x", links=("d:alias",)),
        "d": Service(name="d", image="x")})
    assert start_levels(p) == [["d"], ["c"], ["b"], ["a"]]


def test_subsets():
    p = project(web=["api"], api=["db"], db=[], other=[])
    assert with_dependencies(p, ["web"]) == {"web", "api", "db"}
    assert dependents(p, ["db"]) == {"api", "web"}
    assert start_levels(p, ["api", "db"]) == [["db"], ["api"]]
