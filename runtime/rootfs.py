"""A container's filesystem, built inside its own mount namespace.

prepare(): overlayfs of the image layers plus the container's upper dir, then /proc,
a minimal /dev, read-only /sys, the user's mounts, and /etc/hosts, /etc/hostname,
/etc/resolv.conf bound from the container directory. pivot(): make it the root and
drop the host's tree. finish(): mask and write-protect /proc paths as docker does,
and make the root read-only when asked. Mounts die with the namespace, so nothing
is left behind when the container's last process exits.
"""
from __future__ import annotations

import contextlib
import errno
import os
import stat
from dataclasses import dataclass
from typing import Iterator

from . import cgroupfs, rootless
from .filecopy import copy_entry
from .fsutil import read_text
from .rootdir import O_PATH, RootDir, is_escape
from .spec import ContainerSpec, Mount
from .syscalls import (MNT_DETACH, MS_BIND, MS_MOVE, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_PRIVATE,
                       MS_RDONLY, MS_REC, MS_REMOUNT, MS_STRICTATIME, PROC_MAGIC, SYSCALLS,
                       SYSFS_MAGIC, Syscalls)

MASKED_PATHS = ("/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
                "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
                "/sys/devices/virtual/powercap")
READONLY_PATHS = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")

# name, type, major, minor
DEVICES = (("null", stat.S_IFCHR, 1, 3), ("zero", stat.S_IFCHR, 1, 5),
           ("full", stat.S_IFCHR, 1, 7), ("random", stat.S_IFCHR, 1, 8),
           ("urandom", stat.S_IFCHR, 1, 9), ("tty", stat.S_IFCHR, 5, 0))
DEV_LINKS = (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
             ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2"),
             ("ptmx", "pts/ptmx"))
_PROPAGATION = {"private": MS_PRIVATE, "rprivate": MS_PRIVATE | MS_REC,
                "slave": 1 << 19, "rslave": (1 << 19) | MS_REC,
                "shared": 1 << 20, "rshared": (1 << 20) | MS_REC}


@dataclass
class Layout:
    """Where a container's filesystem pieces are on the host."""

    container_dir: str
    layers_root: str  # the directory holding unpacked layers
    layers: list[str]  # layer directory names under layers_root, bottom first

    @property
    def rootfs(self) -> str:
        return os.path.join(self.container_dir, "rootfs")

    @property
    def upper(self) -> str:
        return os.path.join(self.container_dir, "upper")

    @property
    def work(self) -> str:
        return os.path.join(self.container_dir, "work")

    @property
    def staging(self) -> str:
        """Where binds are made before they move into place (see bind_mount)."""
        return os.path.join(self.container_dir, "staging")


def overlay_options(layout: Layout) -> str:
    """Lower dirs are relative names (mount runs in layers_root) to stay under a page."""
    lowers = [os.path.basename(layer) for layer in reversed(layout.layers)]
    if not lowers:
        lowers = [os.path.relpath(os.path.join(layout.container_dir, "empty"), layout.layers_root)]
    return (f"lowerdir={':'.join(lowers)},upperdir={layout.upper},workdir={layout.work}"
            + rootless.overlay_extra())


@contextlib.contextmanager
def mount_point(root: str, path: str, is_file: bool, user: bool = False) -> Iterator[str]:
    """The mount point for `path` inside `root`, created if missing (where a link there
    dangles, what it names is made, as runc does), as the /proc/self/fd path of an fd
    opened inside the root (runtime.rootdir): a symlink swapped in by a container sharing
    a volume cannot move the mount out of the root (CVE-2021-30465). `user`: a mount the
    user asked for, which may not cover the root itself nor go into /proc or /sys."""
    with RootDir(root) as tree:
        try:
            fd = tree.open(path, O_PATH)
        except FileNotFoundError:
            _make(tree, tree.follow(path), is_file)
            fd = tree.open(path, O_PATH)
        if user:
            _refuse_special(tree, fd, path)
    try:
        yield f"/proc/self/fd/{fd}"
    finally:
        os.close(fd)


def _make(tree: RootDir, path: str, is_file: bool) -> None:
    """A missing mount point: an empty file or directory (a fifo or link that appears
    meanwhile is never opened: O_EXCL)."""
    parent = tree.makedirs(os.path.dirname(path.rstrip("/")) or "/")
    name = os.path.basename(path.rstrip("/"))
    try:
        if is_file:
            os.close(os.open(name, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW
                             | os.O_CLOEXEC, 0o644, dir_fd=parent))
        else:
            os.mkdir(name, 0o755, dir_fd=parent)
    except FileExistsError:
        pass  # made meanwhile: the open that follows decides
    finally:
        os.close(parent)


def _refuse_special(tree: RootDir, fd: int, path: str) -> None:
    st, root = os.fstat(fd), os.fstat(tree.fd)
    if (st.st_dev, st.st_ino) == (root.st_dev, root.st_ino):
        raise OSError(errno.EINVAL, f"mount target {path} is the container's root")
    if SYSCALLS.fs_type(fd) in (PROC_MAGIC, SYSFS_MAGIC):
        raise OSError(errno.EINVAL, f"mount target {path} is inside /proc or /sys")


def _mount_dev(root: str, spec: ContainerSpec, sys: Syscalls) -> None:
    with mount_point(root, "/dev", False) as target:
        sys.mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k")
    with RootDir(root) as tree:
        dev = tree.open("/dev", os.O_RDONLY | os.O_DIRECTORY)  # the new tmpfs
        for host, inner, _perms in spec.devices:
            st = os.stat(host)
            parent = tree.makedirs(os.path.dirname(inner.rstrip("/")) or "/")
            try:  # the host node's type, numbers and permissions, as docker makes it
                _device(os.path.basename(inner.rstrip("/")), host, st.st_mode, st.st_rdev,
                        parent, sys)
            finally:
                os.close(parent)
    try:
        for name, kind, major, minor in DEVICES:
            _device(name, f"/dev/{name}", kind | 0o666, os.makedev(major, minor), dev, sys)
        for name, target in DEV_LINKS:
            os.symlink(target, name, dir_fd=dev)
        for name, mode, source, fstype, flags, options in (
                ("pts", 0o755, "devpts", "devpts", MS_NOSUID | MS_NOEXEC,
                 "newinstance,ptmxmode=0666,mode=0620" + (",gid=5" if rootless.maps_gid(5) else "")),
                ("shm", 0o1777, "shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                 f"mode=1777,size={spec.shm_size}"),
                ("mqueue", 0o755, "mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, None)):
            os.mkdir(name, dir_fd=dev)
            os.chmod(name, mode, dir_fd=dev)
            if name != "shm" or spec.ipc != "host":
                sys.mount(source, f"/proc/self/fd/{dev}/{name}", fstype, flags, options)
    finally:
        os.close(dev)


def _device(name: str, host: str, mode: int, rdev: int, parent: int, sys: Syscalls) -> None:
    """Device node `name` in directory `parent`: made, or without root (where mknod is
    refused) the host's node bound onto an empty file, as rootless podman does."""
    if rootless.active():
        os.close(os.open(name, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_CLOEXEC, 0o666,
                         dir_fd=parent))
        sys.mount(host, f"/proc/self/fd/{parent}/{name}", None, MS_BIND)
        return
    sys.mknod(name, mode, rdev, parent)
    os.chmod(name, stat.S_IMODE(mode), dir_fd=parent)


def _mount_cgroups(root: str, spec: ContainerSpec, sys: Syscalls) -> None:
    """The container's own cgroups at /sys/fs/cgroup, read-only (runtime.cgroupfs)."""
    if rootless.active():
        return  # without root a container has no cgroups of its own to show
    mounts = cgroupfs.plan(read_text("/proc/self/mountinfo"), cgroupfs.own_cgroups())
    if not mounts:
        return
    flags = MS_NOSUID | MS_NODEV | MS_NOEXEC
    with mount_point(root, cgroupfs.CGROUP_ROOT, False) as target:
        if mounts[0].name == "":  # cgroup v2: the container's cgroup directory itself
            sys.mount(mounts[0].source, target, None, MS_BIND)
            sys.mount(None, target, None,
                      MS_BIND | MS_REMOUNT | flags | (0 if spec.privileged else MS_RDONLY))
            return
        sys.mount("tmpfs", target, "tmpfs", flags, "mode=755")
    with RootDir(root) as tree:
        directory = tree.open(cgroupfs.CGROUP_ROOT, os.O_RDONLY | os.O_DIRECTORY)  # the tmpfs
        try:
            cgroupfs.populate(directory, mounts, cgroupfs.links(), spec.privileged, sys)
        finally:
            os.close(directory)


def bind_mount(source: str, target: str, layout: "Layout", sys: Syscalls, remount: int = 0,
          propagation: int = MS_PRIVATE | MS_REC) -> None:
    """Bind `source` at `target` (a /proc/self/fd path from mount_point). The bind is made
    at a staging point of berth's own, given its flags and propagation there, and then
    moved into place: nothing has to find the new mount by its path again, which a
    container sharing a volume could re-point meanwhile."""
    staging = os.path.join(layout.staging, "dir" if os.path.isdir(source) else "file")
    if not os.path.exists(staging):
        os.makedirs(layout.staging, mode=0o700, exist_ok=True)
        if staging.endswith("dir"):
            os.mkdir(staging, 0o700)
        else:
            os.close(os.open(staging, os.O_CREAT | os.O_CLOEXEC, 0o600))
    sys.mount(source, staging, None, MS_BIND | MS_REC)
    if remount:
        sys.mount(None, staging, None, MS_BIND | MS_REMOUNT | remount)
    sys.mount(None, staging, None, propagation)
    sys.mount(staging, target, None, MS_MOVE)


def _copy_up(image_dir: str, volume_dir: str) -> None:
    """Fill a new (empty) named volume with what the image has at its mount point, owners
    and modes kept. Both sides may be shared with a running container (the mount point
    may be inside another volume): they are read and written through fds
    (runtime.filecopy), never through a path a container could re-point."""
    source = os.open(image_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    with RootDir(volume_dir) as volume:
        top = volume.open(".", os.O_RDONLY | os.O_DIRECTORY)
    try:
        if os.listdir(top) or not os.listdir(source):
            return
        with os.scandir(source) as entries:
            for entry in entries:
                copy_entry(top, entry.name, source, entry.name, entry.stat(follow_symlinks=False))
        st = os.fstat(source)
        os.fchown(top, st.st_uid, st.st_gid)
        os.fchmod(top, stat.S_IMODE(st.st_mode))
    finally:
        os.close(top)
        os.close(source)


def _user_mount(layout: "Layout", mount: Mount, sys: Syscalls) -> None:
    root = layout.rootfs
    if mount.type == "tmpfs":
        options = [f"mode={oct(mount.tmpfs_mode or 0o1777)[2:]}"]
        if mount.tmpfs_size:
            options.append(f"size={mount.tmpfs_size}")
        flags = MS_NOSUID | MS_NODEV | (MS_RDONLY if mount.read_only else 0)
        with mount_point(root, mount.target, False, user=True) as target:
            sys.mount("tmpfs", target, "tmpfs", flags, ",".join(options))
        return
    source = mount.source or ""
    if mount.create_source and not os.path.exists(source):
        os.makedirs(source, exist_ok=True)
    if not os.path.exists(source):
        raise FileNotFoundError(f"bind source path does not exist: {source}")
    with volume_subpath(source, mount.subpath) as source, \
            mount_point(root, mount.target, not os.path.isdir(source), user=True) as target:
        if mount.volume and not mount.subpath:
            _copy_up(target, source)
        bind_mount(source, target, layout, sys, MS_RDONLY | MS_REC if mount.read_only else 0,
              _PROPAGATION.get(mount.propagation or "rprivate", MS_PRIVATE | MS_REC))


@contextlib.contextmanager
def volume_subpath(volume: str, subpath: str | None) -> Iterator[str]:
    """The directory to bind for a volume's `subpath`, as a /proc/self/fd path resolved by
    the kernel beneath the volume: an absolute path, a `..` or a symlink that a container
    planted in the volume can never make it bind a host directory."""
    if not subpath:
        yield volume
        return
    with RootDir(volume, strict=True) as tree:
        try:
            fd = tree.open(subpath, O_PATH)
        except OSError as err:
            why = "it leads outside the volume" if is_escape(err) or subpath.startswith("/") \
                else err.strerror
            raise OSError(err.errno, f"volume subpath {subpath}: {why}") from None
    try:
        yield f"/proc/self/fd/{fd}"
    finally:
        os.close(fd)


def prepare(spec: ContainerSpec, layout: Layout, sys: Syscalls = SYSCALLS) -> None:
    """Build the container's tree at layout.rootfs (we are in a new mount namespace)."""
    sys.mount(None, "/", None, MS_REC | MS_PRIVATE)
    root = layout.rootfs
    cwd = os.getcwd()
    os.chdir(layout.layers_root)
    try:
        sys.mount("overlay", root, "overlay", 0, overlay_options(layout))
    finally:
        os.chdir(cwd)
    with mount_point(root, "/proc", False) as target:
        sys.mount("proc", target, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    _mount_dev(root, spec, sys)
    sys_flags = MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY
    with mount_point(root, "/sys", False) as target:
        if spec.network.mode == "host":
            bind_mount("/sys", target, layout, sys, sys_flags)
        else:
            sys.mount("sysfs", target, "sysfs", sys_flags)
    _mount_cgroups(root, spec, sys)
    for mount in sorted(spec.mounts, key=lambda m: m.target.rstrip("/").count("/")):
        _user_mount(layout, mount, sys)
    for name in ("hosts", "hostname", "resolv.conf"):
        source = os.path.join(layout.container_dir, name)
        if os.path.exists(source):
            with mount_point(root, f"/etc/{name}", True) as target:
                sys.mount(source, target, None, MS_BIND)


def pivot(root: str, sys: Syscalls = SYSCALLS) -> None:
    """Make `root` the root directory and detach the old one (runc's pivot_root(".", "."))."""
    os.chdir(root)
    sys.pivot_root(".", ".")
    sys.umount(".", MNT_DETACH)
    os.chdir("/")


def finish(spec: ContainerSpec, sys: Syscalls = SYSCALLS) -> None:
    """After pivot: hide and write-protect kernel interfaces; read-only root if asked."""
    if not spec.privileged:
        for path in MASKED_PATHS:
            if not os.path.exists(path):
                continue
            if os.path.isdir(path):
                sys.mount("tmpfs", path, "tmpfs", MS_RDONLY, None)
            else:
                sys.mount("/dev/null", path, None, MS_BIND)
        for path in READONLY_PATHS:
            if os.path.exists(path):
                sys.mount(path, path, None, MS_BIND | MS_REC)
                sys.mount(None, path, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC)
    if spec.read_only:
        sys.mount(None, "/", None, MS_BIND | MS_REMOUNT | MS_RDONLY)
