"""berth as an ordinary user, end to end: real containers in the user's rootless session
(runtime/rootless), and nothing of the user's left once they are gone."""
from __future__ import annotations

import json
import os
import shutil
import socket
import urllib.request

import pytest

from tests.helpers import busybox_rootfs, wait_for

from tests.rootless.conftest import User

pytestmark = pytest.mark.privileged

ROOT_PATHS = ("/var/lib/berth", "/run/berth")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def assert_nothing_left(user: User) -> None:
    """No process of the user's, no mount under its directories, no run file but the
    session's lock; nothing of its ids under root's berth paths."""
    wait_for(lambda: not user.processes(), timeout=15, interval=0.1)
    with open("/proc/self/mountinfo") as handle:
        assert not [line for line in handle if str(user.base) in line]
    run = user.runtime / "berth"
    if run.exists():
        assert sorted(p.name for p in run.iterdir()) == ["session.lock"]
    for top in ROOT_PATHS:
        for root, dirs, files in os.walk(top):
            if root.count("/") - top.count("/") >= 2:
                dirs[:] = []
            for name in dirs + files:
                assert os.lstat(os.path.join(root, name)).st_uid not in user.ids, (root, name)


def test_a_missing_tool_is_one_line_before_anything_is_made(user: User):
    bare = user.base / "bin"
    bare.mkdir(exist_ok=True)
    for tool in ("nft", "pasta", "newgidmap"):  # newuidmap left out
        if shutil.which(tool):
            (bare / tool).symlink_to(shutil.which(tool))
    done = user.berth("container", "ls", PATH=str(bare))
    assert done.returncode == 1
    assert done.stderr == "berth: newuidmap is not installed (Debian: apt-get install uidmap)\n"
    assert not user.processes()
    assert not (user.runtime / "berth" / "session").exists()


def test_container_run_is_root_inside_and_the_user_outside(user: User, image: str):
    shared = user.home / "shared"
    shared.mkdir()
    os.chown(shared, user.entry.pw_uid, user.entry.pw_gid)
    done = user.berth("container", "run", "--rm", "-v", f"{shared}:/shared", image, "sh", "-c",
                      "echo hi; id -u; touch /shared/by-root; ls -n /dev/null")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[:2] == ["hi", "0"]
    assert lines[2].startswith("crw-rw-rw-")  # the host's node, bound: mknod is refused
    assert os.stat(shared / "by-root").st_uid == user.entry.pw_uid
    assert user.berth("network", "rm", "bridge").returncode == 0  # `run` made it, as docker's
    assert_nothing_left(user)


def test_a_privileged_port_is_one_line(user: User, image: str):
    done = user.berth("container", "run", "--name", "low", "-p", "127.0.0.1:80:80", image, "true")
    assert done.returncode != 0
    assert done.stderr == (
        "berth: container low: cannot publish port 127.0.0.1:80/tcp without root: ports below "
        "1024 are privileged (as root, run `sysctl -w net.ipv4.ip_unprivileged_port_start=80`)\n")
    assert user.berth("container", "rm", "low").returncode == 0
    assert user.berth("network", "rm", "bridge").returncode == 0
    assert_nothing_left(user)


COMPOSE = """
services:
  web:
    build: ./web
    ports: ["127.0.0.1:{port}:80"]
    volumes: ["./data:/data", "cache:/cache"]
    command: ["sh", "-c", "touch /data/by-root /cache/by-root && chown 1000 /data && exec httpd -f -p 80 -h /www"]
  client:
    image: {image}
    command: ["sleep", "1000"]
    mem_limit: 64m
    ports: ["127.0.0.1:{udp}:9999/udp"]
volumes:
  cache: {{}}
"""

DOCKERFILE = """
FROM {image}
RUN mkdir /www && echo built-by-run > /www/index.html && chown -R 1000:1000 /www
"""


def test_compose_up_and_down(user: User, image: str):
    port, udp = free_port(), free_port()
    project = user.home / "stack"
    (project / "web").mkdir(parents=True)
    (project / "data").mkdir()
    (project / "compose.yaml").write_text(COMPOSE.format(port=port, udp=udp, image=image))
    (project / "web" / "Dockerfile").write_text(DOCKERFILE.format(image=image))
    user.give(project)

    up = user.berth("up", "-d", "--wait", cwd=project)
    assert up.returncode == 0, up.stdout + up.stderr
    assert ("WARN container stack-client-1: limits not applied without root (this machine's "
            "cgroups are not delegated to the user): memory") in up.stdout + up.stderr
    try:
        # a published port on the host's 127.0.0.1, served from the rootless namespace
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as answer:
            assert answer.read() == b"built-by-run\n"
        # the services resolve each other by name
        got = user.berth("exec", "client", "timeout", "5", "wget", "-qO-", "http://web/",
                         cwd=project)
        assert got.stdout == "built-by-run\n", got.stderr
        # container root's files are the user's on the host; uid 1000 is in its range
        data = os.stat(project / "data" / "by-root")
        assert (data.st_uid, data.st_gid) == (user.entry.pw_uid, user.entry.pw_gid)
        assert os.stat(project / "data").st_uid == user.ids.start + 999
        volume = next((user.home / ".local/share/berth/volumes").glob("stack_cache*"))
        assert os.stat(next(volume.rglob("by-root"))).st_uid == user.entry.pw_uid
        # a UDP publication holds its host port (the relay is tested in test_pieces)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            with pytest.raises(OSError, match="Address already in use"):
                sock.bind(("127.0.0.1", udp))
    finally:
        os.chown(project / "data", user.entry.pw_uid, user.entry.pw_gid)
        down = user.berth("down", "-v", cwd=project)
    assert down.returncode == 0, down.stderr
    assert_nothing_left(user)
    with socket.socket() as sock:  # nothing listens on the published port any more
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # (TIME_WAIT may remain)
        sock.bind(("127.0.0.1", port))
        sock.listen()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", udp))


def test_a_session_killed_is_cleaned_up_by_the_next_command(user: User, image: str):
    port = free_port()
    done = user.berth("container", "run", "-d", "--name", "k", "-p", f"127.0.0.1:{port}:80",
                      image, "httpd", "-f", "-p", "80", "-h", "/etc")
    assert done.returncode == 0, done.stderr
    state = json.loads((user.runtime / "berth" / "session" / "state.json").read_text())
    os.kill(state["agent"], 9)
    listed = user.berth("container", "ls", "-a").stdout.splitlines()
    assert "Dead" in listed[1] and listed[1].endswith(" k")  # its monitor went with the session
    assert user.berth("container", "start", "k").returncode == 0
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/passwd", timeout=5) as answer:
        assert answer.read().startswith(b"root:x:0:0:")
    assert user.berth("container", "rm", "-f", "k").returncode == 0
    assert user.berth("network", "rm", "bridge").returncode == 0
    assert_nothing_left(user)


def test_single_id_maps_only_the_users_own_ids(user: User):
    data, run = user.base / "single-data", user.base / "single-run"
    data.mkdir()
    run.mkdir(mode=0o700)
    tree = busybox_rootfs(user.base / "single-rootfs")
    for path in (data, run, tree):
        user.give(path)  # every file the user's own: root's inside
    extra = {"XDG_DATA_HOME": str(data), "XDG_RUNTIME_DIR": str(run), "BERTH_SINGLE_ID": "1"}
    done = user.berth("image", "import", str(tree), "single", **extra)
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith("berth: WARN BERTH_SINGLE_ID=1: only your own ids are mapped")
    done = user.berth("container", "run", "--rm", "single", "cat", "/proc/self/uid_map", **extra)
    assert done.stdout.split() == ["0", str(user.entry.pw_uid), "1"], done.stderr
    assert user.berth("network", "rm", "bridge", **extra).returncode == 0
    assert_nothing_left(user)
    assert sorted(p.name for p in (run / "berth").iterdir()) == ["session.lock"]
