"""docker's container and system commands through berth's command line: commit, export,
diff, rename, update, cp, stats, prune, inspect's shape, system events/info/prune, and
run's bad input."""
import json
import tarfile
import time

import pytest

from tests.helpers import run_berth, start_registry

pytestmark = pytest.mark.privileged


@pytest.fixture
def env(cli_env):
    return cli_env


def berth(env, *args, **kwargs):
    return run_berth(*args, env=env, check=True, **kwargs).stdout


def test_diff_commit_export(env, tmp_path):
    berth(env, "container", "run", "-d", "--name", "work", "--network", "none", "busybox", "sh",
          "-c", "echo hi > /hello; rm /etc/group; mkdir /made; sleep 60")
    time.sleep(0.5)
    assert berth(env, "container", "diff", "work").splitlines() == [
        "A /hello", "A /made", "C /etc", "D /etc/group"]
    image_id = berth(env, "container", "commit", "-c", 'CMD ["cat", "/hello"]', "-m", "why",
                     "-a", "me", "work", "snap:1").strip()
    assert image_id.startswith("sha256:")
    assert berth(env, "container", "run", "--rm", "--network", "none", "snap:1") == "hi\n"
    info = json.loads(berth(env, "image", "inspect", "snap:1"))[0]
    assert info["Config"]["Cmd"] == ["cat", "/hello"]
    assert "Up " in berth(env, "container", "ls") and "Paused" not in berth(env, "container", "ls")
    archive = tmp_path / "fs.tar"
    berth(env, "container", "export", "-o", str(archive), "work")
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        assert "hello" in names and "etc/passwd" in names and "etc/group" not in names
        assert tar.extractfile("hello").read() == b"hi\n"


def test_rename_update_cp_stats_prune(env, tmp_path):
    berth(env, "container", "run", "-d", "--name", "one", "busybox", "sleep", "60")
    berth(env, "container", "rename", "one", "two")
    assert "two" in berth(env, "container", "ls") and "one " not in berth(env, "container", "ls")
    berth(env, "container", "update", "-m", "48m", "--pids-limit", "40", "--restart", "always",
          "two")
    limits = berth(env, "container", "exec", "two", "cat",
                   "/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/pids/pids.max")
    assert limits.split() == [str(48 << 20), "40"]
    inspected = json.loads(berth(env, "container", "inspect", "two"))[0]
    assert inspected["HostConfig"]["RestartPolicy"] == {"Name": "always", "MaximumRetryCount": 0}
    assert inspected["HostConfig"]["Memory"] == 48 << 20 and inspected["Name"] == "/two"
    assert inspected["NetworkSettings"]["Networks"]["bridge"]["IPAddress"]
    (tmp_path / "in.txt").write_text("copied in\n")
    berth(env, "container", "cp", str(tmp_path / "in.txt"), "two:/tmp/in.txt")
    assert berth(env, "container", "exec", "two", "cat", "/tmp/in.txt") == "copied in\n"
    berth(env, "container", "cp", "two:/etc/passwd", str(tmp_path / "passwd"))
    assert (tmp_path / "passwd").read_text().startswith("root:")
    stats = berth(env, "container", "stats", "--no-stream", "--format", "json", "two")
    assert json.loads(stats)["Name"] == "two" and int(json.loads(stats)["PIDs"]) >= 1
    berth(env, "container", "run", "--name", "done", "--network", "none", "busybox", "true")
    pruned = berth(env, "container", "prune", "-f")
    assert pruned.startswith("Deleted Containers:") and "two" in berth(env, "container", "ls")
    assert "done" not in berth(env, "container", "ls", "-a")


def test_system_events_info_prune(env):
    start = str(int(time.time()))
    berth(env, "container", "run", "--rm", "--name", "short", "--network", "none", "busybox",
          "true")
    until = str(int(time.time()) + 1)
    lines = berth(env, "system", "events", "--since", start, "--until", until,
                  "--filter", "type=container", "--format", "{{.Status}}").split()
    assert lines == ["create", "start", "die", "destroy"]
    info = json.loads(berth(env, "system", "info", "--format", "json"))
    assert info["Images"] == 1 and info["CgroupVersion"] in (1, 2)
    berth(env, "container", "create", "--name", "idle", "busybox", "true")
    berth(env, "volume", "create", "spare")
    out = berth(env, "system", "prune", "-f", "--volumes")
    assert "Deleted Containers:" in out and "Deleted Volume: spare" in out
    assert "idle" not in berth(env, "container", "ls", "-a")


@pytest.mark.parametrize("flags, message", [
    (["--memory", "12zz"], "invalid value '12zz' for --memory"),
    (["--cpus", "-1"], "--cpus -1.0: must be above 0"),
    (["--device", "/nope"], "--device /nope: /nope: No such file or directory"),
    (["--mount", "type=bind,target=/x"], "a bind mount needs a source"),
    (["--restart", "sometimes"], "--restart sometimes"),
    (["--isolation", "hyperv"], "--isolation is for Windows containers"),
    (["--bogus"], "unrecognized arguments: --bogus"),
])
def test_bad_run_flags_are_one_line_and_create_nothing(env, flags, message):
    done = run_berth("container", "run", *flags, "busybox", "true", env=env)
    assert done.returncode == 125 and done.stderr.count("\n") == 1, done.stderr
    assert message in done.stderr
    assert run_berth("container", "ls", "-aq", env=env).stdout == ""


def test_push_all_tags(env, tmp_path):
    proc, registry = start_registry(tmp_path)
    try:
        for tag in ("1", "2"):
            berth(env, "image", "tag", "busybox", f"{registry}/box:{tag}")
        out = berth(env, "image", "push", "--all-tags", f"{registry}/box", "-q")
        assert [line.split(": digest: ")[0] for line in out.splitlines()] == \
            [f"{registry}/box:1", f"{registry}/box:2"]
    finally:
        proc.terminate()
        proc.wait()


def test_stop_does_not_wait_for_a_signal_pid_1_cannot_get(env):
    """The kernel drops a signal sent to a PID namespace's PID 1 that has no handler for
    it: berth kills it at once and says so, and waits the grace period otherwise."""
    berth(env, "container", "run", "-d", "--name", "deaf", "--network", "none", "busybox",
          "sleep", "60")
    started = time.monotonic()
    done = run_berth("container", "stop", "-t", "20", "deaf", env=env, check=True)
    assert time.monotonic() - started < 5
    assert "deaf: killed at once: PID 1 has no handler for SIGTERM" in done.stderr
    berth(env, "container", "run", "-d", "--name", "polite", "--network", "none", "busybox",
          "sh", "-c", "trap 'exit 7' TERM; while true; do sleep 0.1; done")
    time.sleep(0.5)
    done = run_berth("container", "stop", "-t", "20", "polite", env=env, check=True)
    assert "killed at once" not in done.stderr
    assert berth(env, "container", "wait", "polite") == "7\n"


def test_handles_reads_the_caught_signals(tmp_path):
    from runtime.monitor.lifecycle import handles

    (tmp_path / "7").mkdir()
    (tmp_path / "7" / "status").write_text("Name:\tx\nSigCgt:\t0000000000004002\n")
    assert handles(7, 15, str(tmp_path)) and handles(7, 2, str(tmp_path))  # TERM, INT
    assert not handles(7, 3, str(tmp_path))
    assert handles(8, 15, str(tmp_path))  # unknown: wait as usual
