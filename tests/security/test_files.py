"""Filesystem escapes: cp racing a container that swaps directories for symlinks, cp of
devices, volume subpaths, and mounts of a volume a running container shares."""
import os
import secrets
import signal
import sys

import pytest

from runtime.create import RunOptions
from runtime.filecopy import CopyError, copy_in, copy_out
from runtime.forked import ChildError, in_child
from runtime.spec import Mount
from tests.helpers import python_mounts, wait_for

pytestmark = pytest.mark.privileged

# renameat2(RENAME_EXCHANGE) in a loop: `dir` is a directory and a symlink by turns
SWAPPER = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
open('/data/ready', 'w').close()
while True:
    libc.renameat2(-100, b'/data/dir', -100, b'/data/link', 2)
"""


@pytest.fixture
def swapping(engine, busybox, tmp_path):
    """A container whose /data/dir/sub is, by turns, its own and (as a link) the host's
    `escape/sub`; yields (container, host directory the link names)."""
    escape = tmp_path / f"escape-{secrets.token_hex(4)}"
    (escape / "sub").mkdir(parents=True)
    (escape / "sub" / "secret").write_text("HOST-SECRET")
    script = (f"mkdir -p /data/dir/sub && echo container-data > /data/dir/sub/secret && "
              f"ln -s {escape} /data/link && exec {sys.executable} -c \"$SWAPPER\"")
    container = engine.create(busybox, RunOptions(command=["sh", "-c", script],
                                                  env=[f"SWAPPER={SWAPPER}"],
                                                  mounts=python_mounts()))
    engine.start(container.id)
    root = f"/proc/{engine.get(container.id).state.pid}/root"
    wait_for(lambda: os.path.exists(root + "/data/ready"), timeout=10)
    return container, escape


def test_cp_into_a_container_never_writes_through_a_swapped_link(engine, swapping, tmp_path):
    container, escape = swapping
    payload = tmp_path / "payload"
    payload.write_text("from-cp")
    for _ in range(300):
        try:
            copy_in(engine, container.id, str(payload), "/data/dir/sub/victim")
        except (CopyError, OSError):
            pass  # losing the race may fail the copy; it must never land outside
        assert not (escape / "sub" / "victim").exists()


def test_cp_out_of_a_container_never_reads_through_a_swapped_link(engine, swapping, tmp_path):
    container, _ = swapping
    seen = set()
    for n in range(300):
        dest = tmp_path / f"out-{n}"
        try:
            copy_out(engine, container.id, "/data/dir/sub/secret", str(dest))
        except (CopyError, OSError):
            continue
        if dest.exists():
            seen.add(dest.read_text())
    assert "HOST-SECRET\n" not in seen and "HOST-SECRET" not in seen
    assert seen <= {"container-data\n"}


def test_cp_copies_a_link_to_a_device_as_a_link_and_refuses_devices(engine, busybox, tmp_path):
    c = engine.create(busybox, RunOptions(command=["sh", "-c", "ln -s /dev/zero /zero; "
                                                               "exec sleep 60"]))
    engine.start(c.id)
    wait_for(lambda: os.path.islink(f"/proc/{engine.get(c.id).state.pid}/root/zero"))

    def bounded(inner: str, dest: str) -> None:
        signal.alarm(5)  # a copy that reads a device never ends
        copy_out(engine, c.id, inner, dest)

    in_child(lambda: bounded("/zero", str(tmp_path / "zero")))
    assert os.readlink(tmp_path / "zero") == "/dev/zero"
    with pytest.raises(ChildError, match="not a regular file"):
        in_child(lambda: bounded("/dev/zero", str(tmp_path / "device")))
    assert not (tmp_path / "device").exists() or os.path.getsize(tmp_path / "device") == 0


def test_a_volume_subpath_never_binds_outside_the_volume(engine, busybox, tmp_path):
    """A symlink planted in a volume by an earlier container, named as a subpath."""
    volume = engine.volumes.create("shared")
    planter = engine.create(busybox, RunOptions(
        command=["sh", "-c", "mkdir /v/ok && echo in-volume > /v/ok/file && ln -s /etc /v/escape "
                             "&& ln -s ../../../../../.. /v/up"],
        mounts=[Mount(type="bind", source=str(volume.path), target="/v", volume="shared")]))
    engine.start(planter.id)
    assert engine.wait(planter.id) == 0

    def run_with(subpath: str):
        c = engine.create(busybox, RunOptions(
            command=["sh", "-c", "cat /mnt/file 2>&1; ls /mnt"],
            mounts=[Mount(type="bind", source=str(volume.path), target="/mnt", subpath=subpath,
                          volume="shared")]))
        engine.start(c.id)
        engine.wait(c.id)
        return "".join(line.text for line in engine.logs(c.id))

    assert "in-volume" in run_with("ok")  # control
    for subpath in ("escape", "up", "/etc", "../../.."):
        with pytest.raises(Exception, match="outside the volume"):
            run_with(subpath)


def test_compose_refuses_subpaths_that_leave_the_volume(stack):
    for subpath in ("/etc", "../x", "a/../../b"):
        stack.write(f"""
            services:
              app:
                image: busybox
                volumes:
                  - {{type: volume, source: data, target: /data, volume: {{subpath: "{subpath}"}}}}
            volumes:
              data:
            """)
        out = stack.berth("config", check=False)
        assert out.returncode != 0
        assert "compose.yaml" in out.stderr and "subpath" in out.stderr, out.stderr
        assert "Traceback" not in out.stderr


def test_cp_through_the_cli_to_the_root_and_of_the_root(stack, tmp_path):
    """`berth cp FILE svc:/` gave a traceback; copying a running container's / must not
    read /proc or /sys (they come out empty, as with docker cp)."""
    stack.write("""
        services:
          app:
            image: busybox
            command: sleep 60
            init: true
        """)
    stack.berth("up", "-d")
    (tmp_path / "note.txt").write_text("copied")
    stack.berth("cp", str(tmp_path / "note.txt"), "app:/")
    assert stack.berth("exec", "-T", "app", "cat", "/note.txt").stdout == "copied"
    stack.berth("cp", "app:/", str(tmp_path / "whole"))
    assert (tmp_path / "whole" / "note.txt").read_text() == "copied"
    assert os.listdir(tmp_path / "whole" / "proc") == []
    assert os.listdir(tmp_path / "whole" / "sys") == []
    failed = stack.berth("cp", "app:/dev/zero", str(tmp_path / "zero"), check=False)
    assert failed.returncode != 0 and "Traceback" not in failed.stderr
    assert "not a regular file" in failed.stderr
    stack.berth("down", "-t", "0")


def test_cp_of_a_stopped_container_sees_its_volumes_as_it_would(engine, busybox, tmp_path):
    """A stopped container's filesystem is put together for the copy: a volume's subpath
    and a read-only mount hold there as they do when it runs."""
    volume = engine.volumes.create("data")
    (volume.path / "sub").mkdir()
    (volume.path / "sub" / "inside.txt").write_text("the subpath")
    (volume.path / "root.txt").write_text("the volume's root")
    c = engine.create(busybox, RunOptions(command=["true"], mounts=[
        Mount(type="bind", source=str(volume.path), target="/data", subpath="sub"),
        Mount(type="bind", source=str(volume.path), target="/ro", read_only=True)]))
    copy_out(engine, c.id, "/data", str(tmp_path / "out"))
    assert sorted(os.listdir(tmp_path / "out")) == ["inside.txt"]
    (tmp_path / "new.txt").write_text("x")
    with pytest.raises(CopyError, match="Read-only"):
        copy_in(engine, c.id, str(tmp_path / "new.txt"), "/ro/new.txt")
    assert not (volume.path / "new.txt").exists()


def test_mount_targets_that_are_dangling_links_are_made_where_they_lead(engine, busybox_dir,
                                                                          tmp_path):
    """An image's dangling /etc/resolv.conf (systemd's stub) or a volume target that is a
    link to a directory not there yet: made inside the root, as runc does."""
    import shutil

    from runtime.images.archive import import_rootfs

    rootfs = tmp_path / "rootfs"
    shutil.copytree(busybox_dir, rootfs, symlinks=True)
    os.symlink("../run/resolve/stub.conf", rootfs / "etc" / "resolv.conf")
    os.symlink("/srv/missing/data", rootfs / "data")
    image = import_rootfs(engine.images, str(rootfs), ["dangling"])
    volume = engine.volumes.create("v")
    c = engine.create(image, RunOptions(
        command=["sh", "-c", "cat /etc/resolv.conf >/dev/null && echo resolv; "
                             "touch /data/x && ls /srv/missing/data"],
        mounts=[Mount(type="bind", source=str(volume.path), target="/data", volume="v")]))
    engine.start(c.id)
    assert engine.wait(c.id) == 0
    assert "".join(line.text for line in engine.logs(c.id)).split() == ["resolv", "x"]


@pytest.mark.parametrize("target", ["/", "/proc/sys/kernel", "/sys/kernel"])
def test_a_mount_over_the_root_or_into_proc_and_sys_is_refused(engine, busybox, tmp_path, target):
    (tmp_path / "data").mkdir()
    c = engine.create(busybox, RunOptions(command=["true"], mounts=[
        Mount(type="bind", source=str(tmp_path / "data"), target=target)]))
    with pytest.raises(Exception, match="is the container's root|inside /proc or /sys"):
        engine.start(c.id)
