"""Real containers: namespaces, mounts, users, capabilities, cgroups, monitor, exec."""
import os
import signal
import time

import pytest

from runtime.containers import ContainerError, NameConflict
from runtime.create import RunOptions
from runtime.nsexec import read_error
from runtime.spec import Healthcheck, Mount, Resources
from runtime.state import Status, monitor_alive
from tests.helpers import wait_for

pytestmark = pytest.mark.privileged


def run(engine, image, command, **options):
    """Run to completion; (exit code, stdout text, stderr text)."""
    container = engine.create(image, RunOptions(command=command, **options))
    try:
        engine.start(container.id)
    except Exception:
        log = container.dir / "monitor.log"
        print(log.read_text() if log.exists() else "no monitor log")
        raise
    code = engine.wait(container.id)
    lines = list(engine.logs(container.id))
    out = "".join(line.text for line in lines if line.stream == "stdout")
    err = "".join(line.text for line in lines if line.stream == "stderr")
    return code, out, err


def test_exit_codes_and_both_streams(engine, busybox):
    code, out, err = run(engine, busybox, ["sh", "-c", "echo out; echo err >&2; exit 7"])
    assert (code, out, err) == (7, "out\n", "err\n")


def test_namespaces_and_filesystem(engine, busybox):
    script = ("echo pid=$$; hostname; cat /etc/hostname; ls /proc | grep -c '^[0-9]'; "
              "cat /proc/self/status | grep CapEff; cat /proc/self/status | grep NoNewPrivs; "
              "ls /dev | tr '\\n' ' '; echo; touch /sys/x 2>&1 || echo sys-ro; "
              "echo 1 > /proc/sys/kernel/domainname 2>&1 || echo procsys-ro; "
              "cat /proc/kcore | wc -c; ip link 2>/dev/null | grep -c UP")
    code, out, _ = run(engine, busybox, ["sh", "-c", script], hostname="box")
    lines = out.splitlines()
    assert code == 0
    assert lines[0] == "pid=1"
    assert lines[1:3] == ["box", "box"]
    assert int(lines[3]) <= 3  # sh, ls, grep: nothing of the host (a new PID namespace)
    assert lines[4].endswith("a80425fb")  # docker's default capabilities
    assert lines[5].split() == ["NoNewPrivs:", "0"]  # as docker: setuid programs work
    assert set(lines[6].split()) >= {"null", "zero", "full", "random", "urandom", "tty", "pts",
                                     "shm", "mqueue", "ptmx", "fd"}
    assert "sys-ro" in lines and "procsys-ro" in lines
    assert "0" in lines  # /proc/kcore is masked


def test_writes_stay_in_the_container(engine, busybox):
    code, _, _ = run(engine, busybox, ["sh", "-c", "echo x > /bin/busybox.new && rm /bin/ls"])
    assert code == 0
    layer = engine.images.layer_dir(busybox.diff_ids[0])
    assert (layer / "bin" / "ls").is_symlink() and not (layer / "bin" / "busybox.new").exists()
    code, out, _ = run(engine, busybox, ["ls", "/bin/busybox.new"])
    assert code != 0  # a new container starts from the image again


def test_user_and_groups(engine, busybox):
    code, out, _ = run(engine, busybox, ["sh", "-c", "id; echo $HOME; grep CapEff /proc/self/status"],
                       user="app")
    assert code == 0
    assert out.splitlines()[0] == "uid=1000(app) gid=1000(app) groups=50(staff),1000(app)"  # as docker
    assert out.splitlines()[1] == "/home/app"
    assert out.splitlines()[2].endswith("0000000000000000")  # non-root: no effective caps
    with pytest.raises(ContainerError, match="unable to find user ghost") as err:
        run(engine, busybox, ["true"], user="ghost")
    assert err.value.exit_code == 125


def test_capabilities_drop_and_add(engine, busybox):
    code, out, _ = run(engine, busybox, ["sh", "-c", "chown 1:1 /tmp && echo ok"], cap_drop=["CHOWN"])
    assert code != 0 and "ok" not in out
    code, out, _ = run(engine, busybox, ["grep", "CapBnd", "/proc/self/status"],
                       cap_add=["NET_ADMIN"], cap_drop=["ALL"])
    assert out.split()[1] == f"{1 << 12:016x}"


def test_read_only_root_tmpfs_and_bind_mounts(engine, busybox, tmp_path):
    host = tmp_path / "shared"
    host.mkdir()
    (host / "in.txt").write_text("from host\n")
    mounts = [Mount(type="bind", source=str(host), target="/data"),
              Mount(type="bind", source=str(host), target="/ro", read_only=True),
              Mount(type="tmpfs", target="/scratch", tmpfs_size=1 << 20)]
    script = ("cat /data/in.txt; echo new > /data/out.txt; touch /ro/x 2>/dev/null || echo ro; "
              "touch /etc/x 2>/dev/null || echo rootfs-ro; echo t > /scratch/t && cat /scratch/t; "
              "df -k /scratch | tail -1 | awk '{print $2}'")
    code, out, _ = run(engine, busybox, ["sh", "-c", script], mounts=mounts, read_only=True)
    assert code == 0
    assert out.splitlines() == ["from host", "ro", "rootfs-ro", "t", "1024"]
    assert (host / "out.txt").read_text() == "new\n"


def test_named_volume_is_filled_from_the_image_once(engine, busybox):
    volume = engine.volumes.create("data")
    mount = Mount(type="bind", source=str(volume.path), target="/etc", volume="data")
    code, out, _ = run(engine, busybox, ["sh", "-c", "cat /etc/group | head -1; echo v > /etc/mine"],
                       mounts=[mount])
    assert code == 0 and out == "root:x:0:\n"
    assert (volume.path / "passwd").exists() and (volume.path / "mine").read_text() == "v\n"
    code, out, _ = run(engine, busybox, ["cat", "/etc/mine"], mounts=[mount])
    assert out == "v\n"


def test_bind_mount_target_cannot_escape_through_a_symlink(engine, busybox, tmp_path):
    host = tmp_path / "src"
    host.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    # /etc/evil is an absolute symlink in the image pointing at a host path; the mount
    # target must be resolved inside the container's root, never on the host
    code, _, _ = run(engine, busybox, ["sh", "-c", f"ln -s {outside} /tmp/evil"])
    mount = Mount(type="bind", source=str(host), target=f"{outside}/inside")
    code, _, _ = run(engine, busybox, ["true"], mounts=[mount])
    assert code == 0 and list(outside.iterdir()) == []


def test_memory_and_pids_limits(engine, busybox):
    code, out, err = run(engine, busybox, ["sh", "-c", "for i in 1 2 3 4 5 6 7 8; do sleep 1 & "
                                           "done; wait; echo done"], resources=Resources(pids=4))
    assert code != 0 and "can't fork" in err and out == ""
    container = engine.create(busybox, RunOptions(command=["sleep", "30"],
                                                  resources=Resources(memory=32 << 20, pids=20)))
    engine.start(container.id)
    stats = engine.stats(container.id)
    assert stats["memory_limit"] == 32 << 20 and stats["pids"] >= 1
    engine.stop(container.id, timeout=0)


def test_oom_kill_is_recorded(engine, busybox):
    container = engine.create(busybox, RunOptions(
        command=["sh", "-c", "x=aaaaaaaaaaaaaaaa; while true; do x=$x$x; done"],
        resources=Resources(memory=16 << 20, memory_swap=16 << 20)))
    engine.start(container.id)
    assert engine.wait(container.id) == 137
    assert engine.get(container.id).state.oom_killed


def test_rlimits_never_above_the_hard_limit(engine, busybox):
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    code, out, _ = run(engine, busybox, ["sh", "-c", "ulimit -n; ulimit -Hn"],
                       ulimits={"nofile": [512, hard * 4 if hard > 0 else 1 << 30]})
    assert code == 0
    assert out.split() == ["512", str(hard)]


def test_stop_sends_the_stop_signal_then_kills(engine, busybox):
    trapping = engine.create(busybox, RunOptions(command=["sh", "-c", "trap 'exit 42' TERM; "
                                                          "while true; do sleep 0.1; done"]))
    engine.start(trapping.id)
    assert engine.stop(trapping.id, timeout=5) == (42, "")  # it waited: no note
    stubborn = engine.create(busybox, RunOptions(command=["sleep", "60"]))
    engine.start(stubborn.id)
    started = time.monotonic()
    assert engine.stop(stubborn.id, timeout=0.5) == (  # PID 1 cannot get SIGTERM: SIGKILL
        137, "killed at once: PID 1 has no handler for SIGTERM")
    assert time.monotonic() - started < 5
    container = engine.get(stubborn.id)
    assert container.status == Status.EXITED and not monitor_alive(container.state)


def test_restart_policy_with_backoff(engine, busybox):
    container = engine.create(busybox, RunOptions(command=["sh", "-c", "echo run; exit 3"],
                                                  restart="on-failure:2"))
    engine.start(container.id)
    wait_for(lambda: not monitor_alive(engine.get(container.id).state), timeout=15)
    state = engine.get(container.id).state
    assert state.restart_count == 2 and state.exit_code == 3
    assert [l.text for l in engine.logs(container.id)] == ["run\n"] * 3
    always = engine.create(busybox, RunOptions(command=["true"], restart="always"))
    engine.start(always.id)
    wait_for(lambda: engine.get(always.id).state.restart_count >= 2)
    engine.stop(always.id)
    assert engine.get(always.id).status == Status.EXITED


def test_init_reaps_and_forwards_signals(engine, busybox):
    container = engine.create(busybox, RunOptions(
        command=["sh", "-c", "trap 'echo got-term; exit 5' TERM; (sleep 0.1 &); "
                 "while true; do sleep 0.1; done"], init=True))
    engine.start(container.id)
    wait_for(lambda: len(engine.processes(container.id)) >= 2)
    assert engine.stop(container.id, timeout=5).exit_code == 5
    assert "got-term\n" in [l.text for l in engine.logs(container.id)]


def test_kill_with_signal(engine, busybox):
    container = engine.create(busybox, RunOptions(command=["sleep", "60"], init=True))
    engine.start(container.id)
    engine.kill(container.id, "SIGKILL")
    assert engine.wait(container.id) == 137


def test_exec_joins_the_container(engine, busybox):
    container = engine.create(busybox, RunOptions(command=["sleep", "60"], hostname="inside",
                                                  env=["FOO=bar"], working_dir="/tmp"))
    engine.start(container.id)
    r, w = os.pipe()
    relay, err_fd, _ = engine.exec_process(container.id, ["sh", "-c", "hostname; echo $FOO; pwd; "
                                                       "cat /proc/1/cmdline; echo; id -u"],
                                        user="app", stdio=(0, w, w))
    os.close(w)
    output = b""
    while chunk := os.read(r, 4096):
        output += chunk
    os.close(r)
    _, status = os.waitpid(relay, 0)
    assert read_error(err_fd) is None and os.waitstatus_to_exitcode(status) == 0
    assert output.decode().split("\n")[:3] == ["inside", "bar", "/tmp"]
    assert b"sleep\x0060" in output and output.decode().splitlines()[-1] == "1000"
    relay, err_fd, _ = engine.exec_process(container.id, ["nope"], stdio=(0, 1, 2))
    os.waitpid(relay, 0)
    assert read_error(err_fd)[0] == 127
    engine.stop(container.id, timeout=0)


def test_healthcheck(engine, busybox):
    container = engine.create(busybox, RunOptions(
        command=["sh", "-c", "sleep 0.3; touch /tmp/ready; sleep 60"],
        healthcheck=Healthcheck(test=["CMD-SHELL", "test -f /tmp/ready"], interval=0.1,
                                timeout=2, retries=2, start_period=0, start_interval=0.1)))
    engine.start(container.id)
    wait_for(lambda: (engine.get(container.id).state.health or None) and
             engine.get(container.id).state.health.status == "healthy", timeout=10)
    failing = engine.create(busybox, RunOptions(
        command=["sleep", "60"], healthcheck=Healthcheck(test=["CMD", "false"], interval=0.1,
                                                         timeout=2, retries=2)))
    engine.start(failing.id)
    wait_for(lambda: engine.get(failing.id).state.health.status == "unhealthy", timeout=10)
    assert engine.get(failing.id).describe_status().endswith("(unhealthy)")


def test_pause_and_unpause(engine, busybox):
    container = engine.create(busybox, RunOptions(command=["sleep", "60"]))
    engine.start(container.id)
    engine.pause(container.id)
    assert engine.get(container.id).status == Status.PAUSED
    engine.pause(container.id, False)
    assert engine.get(container.id).status == Status.RUNNING
    engine.stop(container.id, timeout=0)


def test_start_failures_are_reported(engine, busybox):
    container = engine.create(busybox, RunOptions(command=["/nope"]))
    with pytest.raises(ContainerError) as err:
        engine.start(container.id)
    assert err.value.exit_code == 127 and "no such file" in str(err.value)
    assert engine.get(container.id).state.exit_code == 127


def test_names_are_unique_and_freed_on_remove(engine, busybox):
    first = engine.create(busybox, RunOptions(command=["true"], name="one"))
    with pytest.raises(NameConflict):
        engine.create(busybox, RunOptions(command=["true"], name="one"))
    engine.remove(first.id)
    assert engine.create(busybox, RunOptions(command=["true"], name="one")).name == "one"


def test_auto_remove_and_monitor_survives_its_parent(engine, busybox):
    container = engine.create(busybox, RunOptions(command=["sleep", "0.2"], auto_remove=True))
    engine.start(container.id)
    wait_for(lambda: not container.dir.exists(), timeout=10)
    assert not os.path.lexists(engine.paths.names / container.name)


def test_monitor_killed_leaves_a_dead_container_that_rm_cleans(engine, busybox):
    container = engine.create(busybox, RunOptions(command=["sleep", "60"]))
    engine.start(container.id)
    state = engine.get(container.id).state
    os.kill(state.monitor_pid, signal.SIGKILL)
    wait_for(lambda: engine.get(container.id).status == Status.DEAD)
    engine.remove(container.id, force=True)
    wait_for(lambda: not os.path.exists(f"/proc/{state.pid}"))  # its processes died with it
    assert container.id not in [c.id for c in engine.list()] and not container.dir.exists()


def test_logs_tail_and_follow(engine, busybox):
    container = engine.create(busybox, RunOptions(command=["sh", "-c", "for i in 1 2 3 4 5; do "
                                                           "echo $i; sleep 0.05; done"]))
    engine.start(container.id)
    followed = [line.text for line in engine.logs(container.id, follow=True)]
    assert followed == [f"{i}\n" for i in range(1, 6)]
    assert [line.text for line in engine.logs(container.id, tail=2)] == ["4\n", "5\n"]
    first = next(iter(engine.logs(container.id)))
    assert [l.text for l in engine.logs(container.id, since=first.timestamp + 0.12)][-1] == "5\n"


def test_restart_in_place(engine, busybox):
    container = engine.create(busybox, RunOptions(command=["sh", "-c", "echo up; exec sleep 60"],
                                                  init=True))
    engine.start(container.id)
    before = engine.get(container.id).state
    engine.restart(container.id, timeout=1)
    after = engine.get(container.id).state
    assert after.status == Status.RUNNING and after.started_at > before.started_at
    assert after.monitor_pid == before.monitor_pid  # the same monitor, namespace and cgroup
    wait_for(lambda: [l.text for l in engine.logs(container.id)] == ["up\n", "up\n"])
    engine.stop(container.id, timeout=0)
    engine.restart(container.id)  # a stopped container just starts
    assert engine.get(container.id).status == Status.RUNNING
    engine.stop(container.id, timeout=0)


def test_seccomp_filter_like_dockers_default(engine, busybox):
    """A user namespace needs no capability, so only the filter stops `unshare -U`; with
    SYS_ADMIN, privileged or seccomp unconfined it is allowed. Forks and threads still
    work under the filter (clone without namespace flags)."""
    code, out, err = run(engine, busybox, ["sh", "-c", "unshare -U true; echo $?; "
                                                       "grep Seccomp: /proc/self/status; "
                                                       "(echo forked) | cat"])
    lines = out.splitlines()
    assert lines[0] != "0" and "Operation not permitted" in err
    assert lines[1].split() == ["Seccomp:", "2"] and lines[2] == "forked"
    for options in ({"cap_add": ["SYS_ADMIN"]}, {"privileged": True}, {"seccomp": False}):
        code, out, err = run(engine, busybox, ["sh", "-c", "unshare -U true"], **options)
        assert code == 0, (options, err)
    container = engine.create(busybox, RunOptions(command=["sleep", "60"], init=True))
    engine.start(container.id)
    try:  # exec'd processes get the container's filter too
        null = os.open(os.devnull, os.O_RDWR)
        relay, err_fd, _ = engine.exec_process(container.id, ["unshare", "-U", "true"],
                                               stdio=(null, null, null))
        os.close(null)
        _, status = os.waitpid(relay, 0)
        assert read_error(err_fd) is None and os.waitstatus_to_exitcode(status) != 0
    finally:
        engine.stop(container.id, timeout=0)


def test_privileged_gets_every_capability_berth_holds(engine, busybox):
    """Not more: asking for a capability berth lacks (here SYS_RESOURCE) would fail the start."""
    code, out, err = run(engine, busybox, ["sh", "-c", "grep CapEff /proc/self/status; "
                                                       "grep -c kcore /proc/self/mountinfo; true"],
                         privileged=True)
    with open("/proc/self/status") as status:
        held = next(line.split()[1] for line in status if line.startswith("CapPrm:"))
    assert code == 0, err
    assert out.splitlines()[0].split() == ["CapEff:", held]
    assert out.splitlines()[1] == "0"  # nothing masked


def test_log_rotation(engine, busybox):
    """max-size/max-file as docker's json-file: older files dropped, reading gives the
    kept lines in order; a follower moves from file to file as they rotate."""
    script = "for i in $(seq 1 40); do echo line$i; sleep 0.02; done"
    container = engine.create(busybox, RunOptions(command=["sh", "-c", script],
                                                  log_max_size=300, log_max_files=3))
    engine.start(container.id)
    engine.wait(container.id)
    files = sorted(p.name for p in container.dir.iterdir() if p.name.startswith("container.log"))
    assert files == ["container.log", "container.log.1", "container.log.2"]
    assert all((container.dir / name).stat().st_size < 400 for name in files)
    kept = [line.text for line in engine.logs(container.id)]
    assert kept == [f"line{i}\n" for i in range(41 - len(kept), 41)] and len(kept) < 20
    assert [line.text for line in engine.logs(container.id, tail=len(kept) - 1)] == kept[1:]
    # rotating often but keeping every file: the follower must see every line, in order
    follower = engine.create(busybox, RunOptions(command=["sh", "-c", script],
                                                 log_max_size=300, log_max_files=100))
    engine.start(follower.id)
    followed = [line.text for line in engine.logs(follower.id, follow=True)]
    assert followed == [f"line{i}\n" for i in range(1, 41)]
    assert len(list(follower.dir.glob("container.log.*"))) > 5


def test_cpuset_reservation_swappiness_oom_score_and_host_uts(engine, busybox):
    import socket

    from runtime import cgroups

    container = engine.create(busybox, RunOptions(
        command=["sh", "-c", "cat /proc/self/oom_score_adj; grep Cpus_allowed_list "
                 "/proc/self/status; hostname; sleep 60"], init=True, uts="host",
        oom_score_adj=500, resources=Resources(cpuset="0", memory_reservation=64 << 20,
                                               swappiness=10)))
    engine.start(container.id)
    try:
        wait_for(lambda: len(list(engine.logs(container.id))) == 3)
        lines = [line.text.strip() for line in engine.logs(container.id)]
        assert lines[0] == "500"
        assert lines[1].split() == ["Cpus_allowed_list:", "0"]
        assert lines[2] == socket.gethostname()
        if not cgroups.is_v2():
            memory = cgroups.for_container(container.id).dirs["memory"]
            with open(f"{memory}/memory.soft_limit_in_bytes") as handle:
                assert int(handle.read()) == 64 << 20
            with open(f"{memory}/memory.swappiness") as handle:
                assert handle.read().strip() == "10"
    finally:
        engine.stop(container.id, timeout=0)
    bad = engine.create(busybox, RunOptions(command=["true"], resources=Resources(cpuset="999")))
    with pytest.raises(ContainerError, match="cpuset '999'"):
        engine.start(bad.id)


def test_exiting_while_health_checks_run(engine, busybox):
    """A check due just as PID 1 dies, or output of a check whose process is being reaped,
    must not take the monitor down (it did, leaving a dead container holding its address)."""
    for _ in range(10):
        container = engine.create(busybox, RunOptions(
            command=["sleep", "0.05"], init=True,
            healthcheck=Healthcheck(test=["CMD", "echo", "ok"], interval=0.005, timeout=2,
                                    retries=3, start_period=0, start_interval=0.005)))
        engine.start(container.id)
        assert engine.wait(container.id) == 0
        assert engine.get(container.id).status == Status.EXITED
        engine.remove(container.id)
