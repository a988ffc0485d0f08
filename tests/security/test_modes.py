"""Other users on the machine: berth's state is root's alone, whatever the umask of the
command that wrote it."""
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from runtime.containers import Containers
from runtime.forked import in_child
from runtime.paths import short_path
from tests.compose.conftest import Stack
from tests.helpers import REPO

pytestmark = pytest.mark.privileged


@pytest.fixture
def other_user():
    """A second, unprivileged user of this machine: its uid and gid."""
    name = f"berth-sec-{secrets.token_hex(3)}"
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                    name], check=True, capture_output=True)
    try:
        import pwd

        entry = pwd.getpwnam(name)
        yield entry.pw_uid, entry.pw_gid
    finally:
        subprocess.run(["userdel", name], capture_output=True)


def attempts(paths: dict[str, str], socket_path: str) -> list[str]:
    """What of berth's state the calling user can read, write or connect to."""
    done = []
    for what, path in paths.items():
        try:
            with open(path, "rb") as handle:
                handle.read(1)
            done.append(f"read {what}")
        except OSError:
            pass
    try:
        with open(os.path.join(os.path.dirname(paths["config.json"]), "planted"), "w"):
            done.append("write into the container's directory")
    except OSError:
        pass
    try:
        with socket.socket(socket.AF_UNIX) as sock, short_path(Path(socket_path)) as address:
            sock.connect(address)
            done.append("connect to the monitor")
    except OSError:
        pass
    return done


@pytest.fixture
def stack(busybox_dir):
    """A project whose BERTH_ROOT others could reach, as /var/lib/berth is (pytest's own
    temporary directories are closed to them, which would hide what berth does)."""
    base = Path(tempfile.mkdtemp(prefix="berth-modes-"))
    os.chmod(base, 0o755)
    project = Stack(base, busybox_dir)
    yield project
    project.cleanup()
    shutil.rmtree(base)


def test_state_is_root_s_alone_even_under_umask_000(stack, other_user):
    stack.write("""
        services:
          app:
            image: busybox
            command: sh -c 'echo log-line-secret; exec sleep 60'
            init: true
            environment: {PASSWORD: hunter2}
            secrets: [token]
        secrets:
          token:
            environment: TOKEN
        """)
    env = {**os.environ, **stack.env, "PYTHONPATH": str(REPO), "TOKEN": "s3cret-token"}
    subprocess.run(["sh", "-c", "umask 000 && exec python3 -m compose up -d"], cwd=stack.dir,
                   env=env, check=True, capture_output=True, timeout=120)
    container = Containers(stack.paths).list()[0]
    secret = next(m.source for m in container.spec.mounts if m.target == "/run/secrets/token")
    paths = {"config.json": str(container.dir / "config.json"),
             "container.log": str(container.dir / "container.log"),
             "the secret": secret, "state.json": str(container.dir / "state.json")}
    monitor = str(stack.paths.monitor_socket(container.id))
    assert open(secret).read() == "s3cret-token"  # control: root reads it all
    assert len(attempts(paths, monitor)) == len(paths) + 2

    uid, gid = other_user

    def as_other_user() -> list[str]:
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
        return attempts(paths, monitor)

    assert in_child(as_other_user) == []
    inside = stack.berth("exec", "-T", "app", "cat", "/run/secrets/token").stdout
    assert inside == "s3cret-token"  # the container itself still reads its secret
    stack.berth("down", "-t", "0")
