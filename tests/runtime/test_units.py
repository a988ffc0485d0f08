"""Runtime logic that needs no root: capabilities, users, cgroup writers, mounts as calls."""
import pytest

from runtime import capabilities, users
from runtime.cgroups.v1 import V1
from runtime.cgroups.v2 import V2, shares_to_weight
from runtime.create import RunOptions, SpecError, build_spec, merge_env
from runtime.images.store import Image
from runtime.monitor.restart import backoff, restart_wanted
from runtime.rootfs import Layout, finish, overlay_options, pivot
from runtime.spec import ContainerSpec, Resources
from runtime.syscalls import MS_BIND, MS_RDONLY, MS_REMOUNT, RecordingSyscalls

PASSWD = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n"
GROUP = "root:x:0:\napp:x:1000:\nstaff:x:50:app,other\nwheel:x:10:\n"


def test_default_capabilities_like_docker():
    caps = capabilities.final_set([], [], False)
    assert set(caps) == set(capabilities.DEFAULT)
    assert capabilities.mask(caps) == 0xa80425fb
    assert "NET_ADMIN" in capabilities.final_set(["NET_ADMIN"], [], False)
    assert "CHOWN" not in capabilities.final_set([], ["chown"], False)
    assert capabilities.final_set(["NET_RAW"], ["ALL"], False) == ["NET_RAW"]
    assert "SYS_ADMIN" in capabilities.final_set([], [], True)
    with pytest.raises(capabilities.CapabilityError):
        capabilities.final_set(["FLY"], [], False)


def test_mknod_dropped_without_a_device_filter():
    assert "MKNOD" not in capabilities.container_caps([], [], False, device_filter=False)
    assert "MKNOD" in capabilities.container_caps(["MKNOD"], [], False, device_filter=False)
    assert "MKNOD" in capabilities.container_caps([], [], False, device_filter=True)


@pytest.mark.parametrize("spec, uid, gid, groups, build_groups, home", [
    ("", 0, 0, (0,), (), "/root"),
    ("app", 1000, 1000, (50, 1000), (50,), "/home/app"),
    ("1000", 1000, 1000, (50, 1000), (50,), "/home/app"),
    ("app:wheel", 1000, 10, (10, 50), (50,), "/home/app"),
    ("1000:50", 1000, 50, (50,), (), "/home/app"),
    ("4242", 4242, 0, (0,), (), "/"),
    ("4242:4343", 4242, 4343, (4343,), (), "/"),
])
def test_users(spec, uid, gid, groups, build_groups, home):
    """Supplementary groups as `docker run` gives them (the member groups and the user's
    own), and as BuildKit's RUN does (member groups; none for a numeric uid:gid)."""
    user = users.resolve(spec, PASSWD, GROUP)
    assert (user.uid, user.gid, user.groups, user.home) == (uid, gid, groups, home)
    assert users.resolve(spec, PASSWD, GROUP, groups_as="buildkit").groups == build_groups


def test_unknown_user_or_group():
    with pytest.raises(users.UserError, match="unable to find user ghost"):
        users.resolve("ghost", PASSWD, GROUP)
    with pytest.raises(users.UserError, match="unable to find group nope"):
        users.resolve("app:nope", PASSWD, GROUP)
    assert users.resolve("app", PASSWD, GROUP, ["wheel", "99"]).groups == (10, 50, 99, 1000)


def test_cgroup_v1_writer(tmp_path):
    hierarchies = {c: str(tmp_path / c) for c in ("memory", "cpu", "pids", "devices")}
    for path in hierarchies.values():
        (tmp_path / path).mkdir()
    group = V1("berth-x", hierarchies)
    for ctrl, files in {"memory": ["memory.limit_in_bytes"], "cpu": ["cpu.cfs_period_us",
                        "cpu.cfs_quota_us", "cpu.shares"], "pids": ["pids.max"],
                        "devices": ["devices.deny", "devices.allow"]}.items():
        (tmp_path / ctrl / "berth-x").mkdir()
        for name in files:
            (tmp_path / ctrl / "berth-x" / name).write_text("")
    group.create(Resources(memory=1 << 20, cpus=0.5, cpu_shares=512, pids=10))
    assert (tmp_path / "memory/berth-x/memory.limit_in_bytes").read_text() == "1048576"
    assert (tmp_path / "cpu/berth-x/cpu.cfs_quota_us").read_text() == "50000"
    assert (tmp_path / "cpu/berth-x/cpu.shares").read_text() == "512"
    assert (tmp_path / "pids/berth-x/pids.max").read_text() == "10"
    assert (tmp_path / "devices/berth-x/devices.deny").read_text() == "a"
    assert group.procs_files()[0].endswith("berth-x/cgroup.procs")


def test_cgroup_v2_writer(tmp_path):
    (tmp_path / "cgroup.controllers").write_text("cpu memory pids io\n")
    (tmp_path / "cgroup.subtree_control").write_text("")
    sys = RecordingSyscalls()
    group = V2(str(tmp_path / "berth-x"), str(tmp_path), sys)
    top, leaf = tmp_path / "berth-x", tmp_path / "berth-x" / "container"
    leaf.mkdir(parents=True)
    (top / "cgroup.controllers").write_text("cpu memory pids\n")
    (top / "cgroup.subtree_control").write_text("")
    for name in ("memory.max", "memory.swap.max", "pids.max"):
        (leaf / name).write_text("")
    for name in ("cpu.max", "cpu.weight"):
        (top / name).write_text("")
    group.create(Resources(memory=1 << 20, memory_swap=2 << 20, cpus=1.5, cpu_shares=1024, pids=7))
    assert (tmp_path / "cgroup.subtree_control").read_text() == "+cpu +memory +pids"
    assert (top / "cgroup.subtree_control").read_text() == "+cpu +memory +pids"
    # the CPU limits cover the container and its monitor; the rest, the container alone
    assert (top / "cpu.max").read_text() == "150000 100000"
    assert (top / "cpu.weight").read_text() == str(shares_to_weight(1024))
    assert (leaf / "memory.max").read_text() == "1048576"
    assert (leaf / "memory.swap.max").read_text() == "1048576"
    assert (leaf / "pids.max").read_text() == "7"
    assert (top / "monitor").is_dir()
    group.add(42)
    group.add_monitor(43)
    assert (leaf / "cgroup.procs").read_text() == "42"
    assert (top / "monitor" / "cgroup.procs").read_text() == "43"
    assert [c[0] for c in sys.calls] == ["bpf_prog_load", "bpf_prog_attach"]
    assert sys.calls[1][1] == str(leaf)  # the device filter: the container's, not the monitor's
    assert shares_to_weight(2) == 1 and shares_to_weight(262144) == 10000


def test_overlay_lower_dirs_are_relative_and_topmost_first(tmp_path):
    layout = Layout(str(tmp_path / "c"), str(tmp_path / "layers"), ["a" * 64, "b" * 64])
    options = overlay_options(layout)
    assert options.startswith(f"lowerdir={'b' * 64}:{'a' * 64},upperdir=")


def test_pivot_and_masks_as_calls(tmp_path, monkeypatch):
    sys = RecordingSyscalls()
    monkeypatch.setattr("os.chdir", lambda path: sys.calls.append(("chdir", path)))
    pivot("/new/root", sys)
    assert sys.calls == [("chdir", "/new/root"), ("pivot_root", ".", "."), ("umount", ".", 2),
                         ("chdir", "/")]
    sys.calls.clear()
    spec = ContainerSpec(name="x", image="i", image_id="i", args=["true"], read_only=True)
    monkeypatch.setattr("os.path.exists", lambda path: path in ("/proc/kcore", "/proc/sys"))
    monkeypatch.setattr("os.path.isdir", lambda path: path == "/proc/sys")
    finish(spec, sys)
    assert ("mount", "/dev/null", "/proc/kcore", None, MS_BIND, None) in sys.calls
    assert sys.calls[-1] == ("mount", None, "/", None, MS_BIND | MS_REMOUNT | MS_RDONLY, None)


def test_restart_policies():
    assert not restart_wanted("no", 1, 0, False)
    assert restart_wanted("always", 0, 5, False)
    assert not restart_wanted("always", 0, 5, True)
    assert restart_wanted("on-failure", 1, 9, False) and not restart_wanted("on-failure", 0, 0, False)
    assert restart_wanted("on-failure:2", 1, 1, False) and not restart_wanted("on-failure:2", 1, 2, False)
    assert restart_wanted("unless-stopped", 0, 0, False)
    assert [backoff(n) for n in (1, 2, 3)] == [0.1, 0.2, 0.4] and backoff(50) == 60


def image(config):
    return Image(id="sha256:" + "0" * 64, manifest_digest="", refs=("docker.io/library/x:latest",),
                 config={"config": config}, manifest={}, added=0)


def test_spec_combines_image_and_options_like_docker():
    img = image({"Entrypoint": ["/entry"], "Cmd": ["serve"], "Env": ["PATH=/bin", "A=1"],
                 "WorkingDir": "/app", "User": "app", "StopSignal": "SIGQUIT"})
    spec = build_spec(img, RunOptions(env=["A=2", "B=3"]), "n", "c" * 64)
    assert spec.args == ["/entry", "serve"] and spec.env == ["A=2", "B=3", "PATH=/bin"]
    assert (spec.working_dir, spec.user, spec.stop_signal, spec.hostname) == (
        "/app", "app", "SIGQUIT", "c" * 12)
    assert build_spec(img, RunOptions(command=["x"]), "n", "c").args == ["/entry", "x"]
    assert build_spec(img, RunOptions(entrypoint=["sh"]), "n", "c").args == ["sh"]
    with pytest.raises(SpecError, match="no command"):
        build_spec(image({}), RunOptions(), "n", "c")
    assert merge_env(["A=1"], ["A=2", "B"]) == ["A=2", "B="]
