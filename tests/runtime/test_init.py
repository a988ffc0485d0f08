"""The container's init, recorded: runtime.init.run's fixed order of steps, driven with
RecordingSyscalls on a tmp_path root (no root, nothing of this process changed but its
directory, which the test restores)."""
import os

import pytest

from runtime import init, users
from runtime.rootfs import Layout
from runtime.seccomp import PR_SET_SECCOMP
from runtime.spec import ContainerSpec, NetworkConfig
from runtime.syscalls import (PR_CAP_AMBIENT, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS,
                              RecordingSyscalls)

PRCTL = {PR_CAPBSET_DROP: "bounding set", PR_SET_SECCOMP: "seccomp filter",
         PR_CAP_AMBIENT: "ambient caps", PR_SET_NO_NEW_PRIVS: "no_new_privs"}
SPEC = dict(name="x", image="i", image_id="i", args=["/bin/sh", "-c", "true"], hostname="box",
            sysctls={"net.core.somaxconn": "1024"}, ulimits={"nofile": [100, 200]},
            read_only=True, no_new_privileges=True)


def steps(calls: list[tuple]) -> list[str]:
    """One name a step; the many calls of one step (mounts, capability drops) as one."""
    names: list[str] = []
    for kind, *args in calls:
        if kind in ("mount", "mknod"):
            name = "mount"
        elif kind == "prctl":
            name = PRCTL[args[0]]
        elif kind in ("sethostname", "write_proc", "execve"):
            name = f"{kind} {args[0]}"
        else:
            name = kind
        if not names or names[-1] != name:
            names.append(name)
    return names


@pytest.fixture
def start(tmp_path, monkeypatch):
    """run(spec) -> (recorded calls, what init wrote to the sync pipe). An exit is
    recorded too (RecordingSyscalls raises SystemExit for it)."""
    monkeypatch.chdir(tmp_path)  # pivot and the working directory change it
    # the container's /etc/passwd is read after pivot_root: here, that would be the host's
    monkeypatch.setattr(users, "resolve_in",
                        lambda root, user, groups, groups_as: users.User(0, 0, (), "/root"))
    layout = Layout(str(tmp_path / "c"), str(tmp_path / "layers"), ["layer"])
    for path in (layout.rootfs, layout.layers_root):
        os.makedirs(path)

    def run(spec: ContainerSpec) -> tuple[list[tuple], bytes]:
        sys = RecordingSyscalls()
        sync_r, sync_w = os.pipe()
        gate_r, gate_w = os.pipe()
        os.write(gate_w, b"g")
        try:
            init.run(spec, layout, sync_w, gate_r, ["CHOWN", "KILL"], b"\0" * 8, sys=sys)
        except SystemExit:
            pass
        finally:
            os.close(sync_w)
            os.close(gate_w)
            with os.fdopen(sync_r, "rb") as sync:
                reported = sync.read()
        return sys.calls, reported

    return run


def test_init_steps_in_their_fixed_order(start):
    calls, reported = start(ContainerSpec(**SPEC))
    assert steps(calls) == [
        "setsid",
        "loopback_up",
        "mount",  # rootfs.prepare: overlay, /proc, /dev (its nodes), /sys
        "sethostname box",
        "write_proc /proc/sys/net/core/somaxconn",
        "write_proc /proc/sys/net/ipv4/ip_unprivileged_port_start",
        "pivot_root",
        "umount",  # the old root
        "mount",  # rootfs.finish: masked and read-only /proc paths, the read-only root
        "setrlimit",
        "bounding set",
        "seccomp filter",
        "set_ids",
        "capset",
        "ambient caps",
        "no_new_privs",
        "reset_signals",
        "execve /bin/sh",
    ]
    assert reported == b""  # the exec closes the sync pipe: the command runs
    assert ("setrlimit", init.RLIMITS["nofile"], (100, 200)) in calls
    assert ("set_ids", 0, 0, ()) in calls
    assert calls[-1][2:] == (["/bin/sh", "-c", "true"], {"HOME": "/root"})


def test_with_init_pid1_forks_the_command_last(start):
    calls, _ = start(ContainerSpec(**SPEC, init=True))
    assert steps(calls)[-4:] == ["no_new_privs", "reset_signals", "fork", "execve /bin/sh"]


def test_host_network_leaves_lo_and_low_ports_alone(start):
    calls, _ = start(ContainerSpec(**{**SPEC, "sysctls": {}}, network=NetworkConfig(mode="host")))
    assert "loopback_up" not in steps(calls)
    assert not [call for call in calls if call[0] == "write_proc"]


def test_a_command_that_is_not_there_is_reported_as_docker_does(start):
    calls, reported = start(ContainerSpec(**{**SPEC, "args": ["/no/such/command"]}))
    assert steps(calls)[-2:] == ["reset_signals", "exit"]
    assert calls[-1] == ("exit", 127)
    assert reported == b'127 exec: "/no/such/command": no such file or directory'
