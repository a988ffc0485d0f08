"""A container's filesystem, built inside its own mount namespace.

prepare(): overlayfs of the image layers plus the container's upper dir, then /proc,
a minimal /dev, read-only /sys, the user's mounts, and /etc/hosts, /etc/hostname,
/etc/resolv.conf bound from the container directory. pivot(): make it the root and
drop the host's tree. finish(): mask and write-protect /proc paths as docker does,
and make the root read-only when asked. Mounts die with the namespace, so nothing
is left behind when the container's last process exits.
"""
from __future__ import annotations

import os
import shutil
import stat
from dataclasses import dataclass

from .securejoin import secure_join
from .spec import ContainerSpec, Mount
from .syscalls import (MNT_DETACH, MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_PRIVATE, MS_RDONLY,
                       MS_REC, MS_REMOUNT, MS_STRICTATIME, SYSCALLS, Syscalls)

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
             ("ptmx", "pts/ptmx"), ("core", "/proc/kcore"))
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


def overlay_options(layout: Layout) -> str:
    """Lower dirs are relative names (mount runs in layers_root) to stay under a page."""
    lowers = [os.path.basename(layer) for layer in reversed(layout.layers)]
    if not lowers:
        lowers = [os.path.relpath(os.path.join(layout.container_dir, "empty"), layout.layers_root)]
    return f"lowerdir={':'.join(lowers)},upperdir={layout.upper},workdir={layout.work}"


def mount_point(root: str, path: str, is_file: bool) -> str:
    """The mount point for `path` inside `root`, created if missing, never outside root."""
    target = secure_join(root, path)
    if is_file:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if not os.path.exists(target):
            with open(target, "a"):
                pass
    else:
        os.makedirs(target, exist_ok=True)
    return target


def _mount_dev(root: str, spec: ContainerSpec, sys: Syscalls) -> None:
    dev = mount_point(root, "/dev", False)
    sys.mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k")
    for name, kind, major, minor in DEVICES:
        path = os.path.join(dev, name)
        os.mknod(path, kind | 0o666, os.makedev(major, minor))
        os.chmod(path, 0o666)
    for name, target in DEV_LINKS:
        os.symlink(target, os.path.join(dev, name))
    for host, inner, _perms in spec.devices:
        st = os.stat(host)
        path = secure_join(root, inner)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        os.mknod(path, stat.S_IFMT(st.st_mode) | 0o660, st.st_rdev)
    pts = os.path.join(dev, "pts")
    os.mkdir(pts, 0o755)
    sys.mount("devpts", pts, "devpts", MS_NOSUID | MS_NOEXEC,
              "newinstance,ptmxmode=0666,mode=0620,gid=5")
    shm = os.path.join(dev, "shm")
    os.mkdir(shm, 0o1777)
    if spec.ipc != "host":
        sys.mount("shm", shm, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                  f"mode=1777,size={spec.shm_size}")
    mqueue = os.path.join(dev, "mqueue")
    os.mkdir(mqueue, 0o755)
    sys.mount("mqueue", mqueue, "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC)


def _bind(source: str, target: str, mount: Mount, sys: Syscalls) -> None:
    sys.mount(source, target, None, MS_BIND | MS_REC)
    if mount.read_only:
        sys.mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC)
    sys.mount(None, target, None, _PROPAGATION.get(mount.propagation or "rprivate", MS_PRIVATE | MS_REC))


def _copy_up(source_dir: str, volume_dir: str) -> None:
    """Fill a new (empty) named volume with what the image has at its mount point."""
    if not os.path.isdir(source_dir) or os.listdir(volume_dir) or not os.listdir(source_dir):
        return
    shutil.copytree(source_dir, volume_dir, symlinks=True, dirs_exist_ok=True,
                    copy_function=_copy_with_owner)
    for dirpath, dirnames, _ in os.walk(source_dir):
        for name in dirnames + [""]:
            src = os.path.join(dirpath, name)
            dst = os.path.join(volume_dir, os.path.relpath(src, source_dir))
            st = os.lstat(src)
            os.lchown(dst, st.st_uid, st.st_gid)
    st = os.stat(source_dir)
    os.chown(volume_dir, st.st_uid, st.st_gid)
    os.chmod(volume_dir, stat.S_IMODE(st.st_mode))


def _copy_with_owner(src: str, dst: str) -> None:
    shutil.copy2(src, dst, follow_symlinks=False)
    st = os.lstat(src)
    os.lchown(dst, st.st_uid, st.st_gid)


def _user_mount(root: str, mount: Mount, sys: Syscalls) -> None:
    if mount.type == "tmpfs":
        target = mount_point(root, mount.target, False)
        options = [f"mode={oct(mount.tmpfs_mode or 0o1777)[2:]}"]
        if mount.tmpfs_size:
            options.append(f"size={mount.tmpfs_size}")
        flags = MS_NOSUID | MS_NODEV | (MS_RDONLY if mount.read_only else 0)
        sys.mount("tmpfs", target, "tmpfs", flags, ",".join(options))
        return
    source = mount.source or ""
    if mount.create_source and not os.path.exists(source):
        os.makedirs(source, exist_ok=True)
    if not os.path.exists(source):
        raise FileNotFoundError(f"bind source path does not exist: {source}")
    target = mount_point(root, mount.target, not os.path.isdir(source))
    if mount.volume:
        _copy_up(target, source)
    _bind(source, target, mount, sys)


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
    sys.mount("proc", mount_point(root, "/proc", False), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    _mount_dev(root, spec, sys)
    sys_flags = MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY
    if spec.network.mode == "host":
        sys.mount("/sys", mount_point(root, "/sys", False), None, MS_BIND | MS_REC)
        sys.mount(None, mount_point(root, "/sys", False), None, MS_BIND | MS_REMOUNT | sys_flags)
    else:
        sys.mount("sysfs", mount_point(root, "/sys", False), "sysfs", sys_flags)
    for mount in sorted(spec.mounts, key=lambda m: m.target.rstrip("/").count("/")):
        _user_mount(root, mount, sys)
    for name in ("hosts", "hostname", "resolv.conf"):
        source = os.path.join(layout.container_dir, name)
        if os.path.exists(source):
            target = mount_point(root, f"/etc/{name}", True)
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
