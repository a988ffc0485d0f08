"""The per-user session: a holder process owning the namespaces, and an agent beside it.

    berth (user) --fork, setsid, fork--> agent (host namespaces, the user's ids)
                                           |--fork--> holder (holder.py): unshare user
                                           |          ns; the agent maps its ids;
                                           |          unshare mount + net ns; pause
                                           |--> pasta / slirp4netns (the way out)
                                           `--> serves agent.sock (ports.py), watches

Every berth command joins the holder's namespaces (join()). The agent ends the session
(helper, holder, the run directory's contents: they described the namespaces) once no
process but its own is left in the user namespace: after `down`, nothing remains.
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from ..fsutil import make_dir
from ..syscalls import CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWUSER, SYSCALLS
from . import idmap
from .checks import RootlessError

IDLE_SECONDS = 1.0  # a session with nothing in it for this long ends
# what berth keeps in its run directory (runtime.paths, the network records, compose's
# image mounts): all a session's end removes, whatever else BERTH_RUN holds
RUN_ENTRIES = ("session", "netns", "dns", "monitors", "locks", "endpoints", "compose")
BERTH_PROCESSES = ("berth-holder", "berth-monitor", "berth-session", "berth-forward")


@dataclass(frozen=True)
class Session:
    agent: int
    holder: int
    helper: int  # pasta or slirp4netns
    userns: int  # the user namespace's inode, to find what runs in it
    boot: str = ""  # the boot it ran in (/proc/sys/kernel/random/boot_id)


def session_dir(run: Path) -> Path:
    return run / "session"


def lock_file(run: Path) -> Path:
    """The lock that orders starting, joining and ending (outside session/, which the
    agent empties)."""
    return run / "session.lock"


def recorded(run: Path) -> Session | None:
    try:
        return Session(**json.loads((session_dir(run) / "state.json").read_text()))
    except (OSError, ValueError, TypeError):
        return None


def load(run: Path) -> Session | None:
    """The session recorded under `run`, if its agent and holder still live."""
    session = recorded(run)
    try:
        if session is None or _parent(session.holder) != session.agent:
            return None
    except (OSError, ValueError):
        return None
    return session


def _parent(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as handle:
        return int(handle.read().rsplit(")", 1)[1].split()[1])


def join(session: Session) -> None:
    """Enter the session's user, mount and network namespaces (this process must have one
    thread). Entering a mount namespace moves to its root: the working directory, the
    same path there, is restored."""
    cwd = os.getcwd()
    for name, kind in (("user", CLONE_NEWUSER), ("mnt", CLONE_NEWNS), ("net", CLONE_NEWNET)):
        fd = os.open(f"/proc/{session.holder}/ns/{name}", os.O_RDONLY | os.O_CLOEXEC)
        try:
            SYSCALLS.setns(fd, kind)
        finally:
            os.close(fd)
    os.chdir(cwd)


@dataclass(frozen=True)
class Maps:
    uid: int
    gid: int
    uids: idmap.IdRange | None  # None: the user's own id only (BERTH_SINGLE_ID=1)
    gids: idmap.IdRange | None


def start(run: Path, maps: Maps) -> Session:
    """Start the agent (detached: it outlives this command) and wait until the session is
    up; its error otherwise, in one line. What a session killed before it could end
    (kill -9) left is ended first."""
    previous = recorded(run)
    if previous is not None:
        end(run, previous)
    make_dir(session_dir(run), 0o700)
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(ready_r)
            os.closerange(3, ready_w)  # the session lock above all: the agent takes its own
            os.closerange(ready_w + 1, 1 << 16)
            os.chdir("/")
            os.setsid()
            if os.fork() == 0:
                from .agent import serve
                from .holder import make
                serve(run, ready_w, make(run, maps, ready_w))
            os._exit(0)
        except BaseException as err:  # noqa: BLE001 - a forked child must never return
            try:
                os.write(ready_w, f"error {err}".encode())
            finally:
                os._exit(1)
    os.close(ready_w)
    os.waitpid(pid, 0)
    with os.fdopen(ready_r, "rb") as ready:
        answer = ready.read().decode(errors="replace")
    if answer != "ok":
        raise RootlessError(answer[len("error "):] if answer.startswith("error ")
                            else "the rootless session did not start")
    session = load(run)
    if session is None:
        raise RootlessError("the rootless session ended as it started")
    return session


def members(userns: int):
    """The pids of the processes in the user namespace `userns` (an inode)."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            if os.stat(f"/proc/{entry.name}/ns/user").st_ino == userns:
                yield int(entry.name)
        except OSError:
            continue


def boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id") as handle:
            return handle.read().strip()
    except OSError:
        return ""


def ours(session: Session, pids: list[int]) -> bool:
    """Whether the processes found in the recorded user namespace are the session's: a
    namespace's inode is reused once it is gone, so the record must be of this boot and
    the namespace must still hold the holder or one of berth's own processes."""
    if session.boot != boot_id():
        return False
    for pid in pids:
        try:
            with open(f"/proc/{pid}/comm") as handle:
                if pid == session.holder or handle.read().strip() in BERTH_PROCESSES:
                    return True
        except OSError:
            continue
    return False


def end(run: Path, session: Session, spare: Iterable[int] = ()) -> None:
    """Kill what runs in the session (but `spare`), its helper, and remove berth's
    entries of the run directory (not its lock): its netns files, sockets and records
    described namespaces that are gone. The caller holds the session lock."""
    from . import outbound

    found = [pid for pid in members(session.userns) if pid not in spare]
    if ours(session, found):
        for pid in found:
            _kill(pid)
        outbound.stop(session.helper)
    for name in RUN_ENTRIES:
        path = run / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        elif path.exists() or path.is_symlink():
            path.unlink()


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def locked(run: Path, exclusive: bool) -> int:
    """An fd holding the session lock (close it to release)."""
    fd = os.open(lock_file(run), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
    return fd
