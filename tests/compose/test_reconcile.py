"""Plans as text: what berth decides, without running anything."""
import textwrap

from compose.labels import (CONFIG_HASH, DEPENDS_ON, NUMBER, ONEOFF, PROJECT, SERVICE,
                            ContainerInfo, config_hash)
from compose.load import LoadOptions, load_project
from compose.observe import Observed
from compose.reconcile import (DownOptions, UpOptions, plan_down, plan_restart, plan_rm,
                               plan_signal, plan_start, plan_stop, plan_up)


def project(tmp_path, text):
    (tmp_path / "compose.yaml").write_text(textwrap.dedent(text))
    return load_project(LoadOptions(cwd=str(tmp_path), project_name="demo", environ={}))


def container(service, number, status="running", hash_="", oneoff=False):
    return ContainerInfo(id=f"{service}{number}", name=f"demo-{service}-{number}",
                         labels={PROJECT: "demo", SERVICE: service, NUMBER: str(number),
                                 CONFIG_HASH: hash_, ONEOFF: str(oneoff)},
                         status=status, exit_code=None, health=None, image="busybox",
                         image_id="sha256:x", command=[], created=0, started=0, finished=0)


STACK = """
    services:
      db: {image: busybox, volumes: [data:/data]}
      web: {image: busybox, depends_on: [db], deploy: {replicas: 2}}
      sidecar: {image: busybox, network_mode: "service:web"}
    volumes:
      data:
"""
IDS = {"db": "sha256:x", "web": "sha256:x", "sidecar": "sha256:x"}


def plan(p, observed, **options):
    levels = [list(level) for level in p.levels]
    return plan_up(p, Observed(tuple(observed)), IDS, levels, UpOptions(**options))


def existing(containers, networks=("demo_default",), volumes=("demo_data",)):
    return Observed(tuple(containers), frozenset(networks), frozenset(volumes))


def test_fresh_project(tmp_path):
    p = project(tmp_path, STACK)
    assert plan(p, []).render() == textwrap.dedent("""\
        create network default
        create volume data
        create container demo-db-1
        create container demo-web-1
        create container demo-web-2
        create container demo-sidecar-1
    """)


def test_unchanged_project_keeps_and_starts_stopped(tmp_path):
    p = project(tmp_path, STACK)
    h = {name: config_hash(p, name, "sha256:x") for name in p.services}
    observed = [container("db", 1, hash_=h["db"]), container("web", 1, hash_=h["web"]),
                container("web", 2, status="exited", hash_=h["web"]),
                container("sidecar", 1, hash_=h["sidecar"])]
    text = plan_up(p, existing(observed), IDS,
                   [list(x) for x in p.levels], UpOptions()).render()
    assert text == "start container demo-web-2\n"


def test_changed_service_is_recreated_with_what_is_tied_to_it(tmp_path):
    p = project(tmp_path, STACK)
    h = {name: config_hash(p, name, "sha256:x") for name in p.services}
    observed = [container("db", 1, hash_=h["db"]), container("web", 1, hash_="old"),
                container("web", 2, hash_=h["web"]), container("sidecar", 1, hash_=h["sidecar"])]
    text = plan_up(p, existing(observed), IDS,
                   [list(x) for x in p.levels], UpOptions()).render()
    assert text == ("recreate container demo-web-1\n"
                    "recreate container demo-sidecar-1\n")  # it lives in web's namespace


def test_scaling_and_orphans(tmp_path):
    p = project(tmp_path, STACK)
    h = {name: config_hash(p, name, "sha256:x") for name in p.services}
    observed = [container("db", 1, hash_=h["db"]), container("web", 1, hash_=h["web"]),
                container("web", 2, hash_=h["web"]), container("gone", 1),
                container("web", 9, oneoff=True)]
    result = plan_up(p, existing(observed), IDS,
                     [list(x) for x in p.levels],
                     UpOptions(scale={"web": 4, "db": 0}, remove_orphans=True))
    assert result.render() == textwrap.dedent("""\
        remove container demo-db-1
        create container demo-web-3
        create container demo-web-4
        create container demo-sidecar-1
        remove orphan demo-gone-1
    """)


def test_force_and_no_recreate(tmp_path):
    p = project(tmp_path, STACK)
    observed = [container("db", 1, hash_="old")]
    levels = [["db"]]
    assert plan_up(p, existing(observed), IDS, levels,
                   UpOptions(no_recreate=True)).render() == ""
    h = config_hash(p, "db", "sha256:x")
    assert plan_up(p, existing([container("db", 1, hash_=h)]), IDS,
                   levels, UpOptions(force_recreate=True)).render() == "recreate container demo-db-1\n"


def test_config_hash_ignores_what_does_not_change_the_container(tmp_path):
    base = project(tmp_path, "services: {web: {image: busybox}}")
    scaled = project(tmp_path, "services: {web: {image: busybox, deploy: {replicas: 3}, "
                               "depends_on: {}, pull_policy: missing}}")
    changed = project(tmp_path, "services: {web: {image: busybox, environment: [A=1]}}")
    h = config_hash(base, "web", "i")
    assert config_hash(scaled, "web", "i") == h
    assert config_hash(changed, "web", "i") != h
    assert config_hash(base, "web", "other-image") != h


# --- the other commands' plans --------------------------------------------------------------

def snapshot(p, **status):
    """The stack's containers, running unless `status` says otherwise."""
    return [container(name, 1, status.get(name, "running")) for name in p.services]


def test_stop_plans_dependents_first_and_only_running_containers(tmp_path):
    p = project(tmp_path, STACK)
    text = plan_stop(Observed(tuple(snapshot(p, db="exited"))), p).render()
    assert text == "stop container demo-sidecar-1\nstop container demo-web-1\n"


def test_start_plans_dependencies_first_and_keeps_what_runs(tmp_path):
    p = project(tmp_path, STACK)
    plan = plan_start(Observed(tuple(snapshot(p, db="exited", web="exited"))), p)
    assert plan.render() == "start container demo-db-1\nstart container demo-web-1\n"
    assert [[c.verb for c in level] for level in plan.levels] == [["start"], ["start"], ["keep"]]


def test_restart_kill_and_rm_plans(tmp_path):
    p = project(tmp_path, STACK)
    observed = Observed(tuple(snapshot(p, web="exited")))
    assert plan_restart(observed, p, ["db", "web"]).render() == (
        "restart container demo-db-1\nrestart container demo-web-1\n")
    assert plan_signal(observed, "kill", signal="SIGTERM").render() == (
        "kill container demo-db-1\nkill container demo-sidecar-1\n")
    assert plan_rm(observed, p).render() == "remove container demo-web-1\n"
    assert plan_rm(observed, p, ["db"], stop=True).render() == "remove container demo-db-1\n"


def test_down_plan_of_the_whole_project(tmp_path):
    p = project(tmp_path, STACK)
    anon = ContainerInfo(**{**container("db", 1).__dict__, "anonymous_volumes": {"/x": "anon1"}})
    observed = Observed((anon, container("web", 1), container("gone", 1)),
                        owned_networks=frozenset({"demo_default"}),
                        owned_volumes=frozenset({"demo_data", "anon1"}),
                        images={"busybox": "sha256:x"})
    plan = plan_down(observed, p, DownOptions(volumes=True, rmi="all"))
    assert plan.render() == textwrap.dedent("""\
        remove container demo-web-1
        remove container demo-db-1
        remove network demo_default
        remove volume demo_data
        remove image busybox
    """)  # the anonymous volume goes with its container; the orphan stays, reported
    assert [c.name for c in plan.orphans] == ["demo-gone-1"]
    assert plan_down(observed, p, DownOptions(services=("web",))).render() == (
        "remove container demo-web-1\n")


def test_down_without_the_file_orders_by_the_labels(tmp_path):
    db, web = container("db", 1), container("web", 1)
    web = ContainerInfo(**{**web.__dict__, "labels": {**web.labels, DEPENDS_ON: "db:service_started:false"}})
    plan = plan_down(Observed((db, web), owned_networks=frozenset({"demo_default"})), None,
                     DownOptions(remove_orphans=False))
    assert plan.render() == ("remove container demo-web-1\nremove container demo-db-1\n"
                             "remove network demo_default\n")
