"""The session's namespaces, made by the agent: the holder unshares a user namespace,
newuidmap/newgidmap map its ids, the holder unshares a mount and a network namespace
(with a sysfs of its own and the guard rules), and pasta links it to the outside."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

from ..fsutil import atomic_write
from ..syscalls import (CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWUSER, MS_BIND, MS_NODEV,
                        MS_NOEXEC, MS_NOSUID, MS_REC, MS_SLAVE, PR_SET_PDEATHSIG, SYSCALLS)
from . import idmap, outbound
from .checks import RootlessError
from .session import Maps, Session, boot_id, session_dir


def make(run: Path, maps: Maps, ready_w: int) -> Session:
    """In the agent: the holder, its id maps, the helper; recorded in state.json. The
    agent's output goes to the session's log from here on."""
    directory = session_dir(run)
    log = os.open(directory / "agent.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC,
                  0o600)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1):
        os.dup2(null, fd)
    os.dup2(log, 2)
    to_agent_r, to_agent_w = os.pipe()
    to_holder_r, to_holder_w = os.pipe()
    holder = os.fork()
    if holder == 0:
        os.close(ready_w)
        _hold(to_agent_w, to_holder_r)
    os.close(to_agent_w)
    os.close(to_holder_r)
    if os.read(to_agent_r, 1) != b"u":
        raise RootlessError("cannot create a user namespace (see user.max_user_namespaces)")
    for tool, own, extra in (("newuidmap", maps.uid, maps.uids),
                             ("newgidmap", maps.gid, maps.gids)):
        proc = subprocess.run([tool, str(holder), *idmap.map_args(own, extra)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise RootlessError(f"{tool}: {(proc.stderr or proc.stdout).strip()}")
    os.write(to_holder_w, b"m")
    if os.read(to_agent_r, 1) != b"r":
        raise RootlessError("the session's namespaces could not be made (see "
                            f"{directory / 'agent.log'})")
    helper = outbound.start(holder, directory / "helper.pid", log)
    session = Session(agent=os.getpid(), holder=holder, helper=helper,
                      userns=os.stat(f"/proc/{holder}/ns/user").st_ino, boot=boot_id())
    atomic_write(directory / "state.json", json.dumps(asdict(session)), 0o600)
    return session


def _hold(to_agent: int, from_agent: int) -> None:
    """The holder: owns the namespaces, does nothing else; dies with the agent."""
    try:
        SYSCALLS.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        SYSCALLS.unshare(CLONE_NEWUSER)
        os.write(to_agent, b"u")
        if os.read(from_agent, 1) != b"m":
            os._exit(1)
        SYSCALLS.unshare(CLONE_NEWNS | CLONE_NEWNET)
        SYSCALLS.mount(None, "/", None, MS_REC | MS_SLAVE)
        _own_sysfs()
        SYSCALLS.loopback_up()
        outbound.guard()
        os.write(to_agent, b"r")
        SYSCALLS.set_process_name("berth-holder")
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)
        os.closerange(3, 1 << 16)
        while True:
            signal.pause()
    except BaseException as err:  # noqa: BLE001 - a forked child must never return
        print(f"holder: {err}", file=sys.stderr, flush=True)
        os._exit(1)


def _own_sysfs() -> None:
    """A sysfs of the session's network namespace on /sys (the host's shows the host's
    interfaces), with the host's cgroup mounts bound back under it."""
    cgroup = os.open("/sys/fs/cgroup", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        SYSCALLS.mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        SYSCALLS.mount(f"/proc/self/fd/{cgroup}", "/sys/fs/cgroup", None, MS_BIND | MS_REC)
    finally:
        os.close(cgroup)
