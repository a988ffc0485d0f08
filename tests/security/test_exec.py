"""exec (and so hooks) must hand the container none of the caller's descriptors: an
inherited fd of a host directory is a way out (runc CVE-2024-21626)."""
import os
import subprocess

import pytest

from runtime.create import RunOptions
from runtime.nsexec import wait_relay
from tests.helpers import REPO

pytestmark = pytest.mark.privileged


@pytest.fixture
def host_secret(tmp_path):
    """An inheritable fd of a host directory holding a secret file, as a careless caller
    (a shell's `exec 3</dir`) would have."""
    (tmp_path / "secret").write_text("HOST-SECRET")
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    os.set_inheritable(fd, True)
    yield fd
    os.close(fd)


def exec_output(engine, cid, argv, **options) -> tuple[int, str, str | None]:
    r, w = os.pipe()
    try:
        relay, err_fd, _ = engine.exec_process(cid, argv, stdio=(0, w, w), **options)
    finally:
        os.close(w)
    code, error = wait_relay(relay, err_fd)
    with os.fdopen(r) as out:
        return code, out.read(), error


def test_exec_inherits_no_descriptor_of_the_caller(engine, busybox, host_secret):
    c = engine.create(busybox, RunOptions(command=["sleep", "60"]))
    engine.start(c.id)
    code, out, _ = exec_output(engine, c.id, ["sh", "-c", f"cat /proc/self/fd/{host_secret}/secret;"
                                                         " ls /proc/self/fd"])
    assert "HOST-SECRET" not in out
    assert str(host_secret) not in out.split()
    code, out, error = exec_output(engine, c.id, ["cat", "secret"],
                                   workdir=f"/proc/self/fd/{host_secret}")
    assert code != 0 and "HOST-SECRET" not in out
    code, out, _ = exec_output(engine, c.id, ["cat", "/etc/hostname"])  # control
    assert code == 0 and out.strip() == c.id[:12]


def test_berth_exec_run_by_a_careless_shell(stack, host_secret):
    stack.write("""
        services:
          app:
            image: busybox
            command: sleep 60
            init: true
        """)
    stack.berth("up", "-d")
    env = {**os.environ, **stack.env, "PYTHONPATH": str(REPO)}
    probe = f"cat /proc/self/fd/{host_secret}/secret; ls /proc/self/fd"
    out = subprocess.run(["python3", "-m", "compose", "exec", "-T", "app", "sh", "-c", probe],
                         cwd=stack.dir, env=env, capture_output=True, text=True,
                         pass_fds=(host_secret,), timeout=60)
    assert "HOST-SECRET" not in out.stdout + out.stderr
    assert str(host_secret) not in out.stdout.split()
    stack.berth("down", "-t", "0")
