"""Fixtures of the rootless tests: the real `berth` run by an ordinary user (made by
tests/rootless/setup.py), with a HOME, XDG_RUNTIME_DIR and copy of berth's code of its
own per test module, and the user's busybox image."""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.helpers import busybox_rootfs, wait_for
from tests.rootless.setup import Workspace


class User(Workspace):
    """The test user's workspace, its berth, and what of it runs."""

    def berth(self, *args: str, cwd=None, timeout: float = 60,
              **extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(self.command(*args, **extra), cwd=cwd or self.home,
                              capture_output=True, text=True, timeout=timeout)

    def processes(self) -> list[int]:
        """Live processes of this module's berth as the user: those whose environment
        names its directories (commands, the agent, holder, pasta, monitors) and those in
        their user namespaces (containers). Other modules' (pytest's other workers) are
        left out: they run as the same user, each with directories of its own."""
        mark = str(self.base).encode()
        owned, tagged, namespaces = [], [], set()
        for entry in os.scandir("/proc"):
            try:
                if not entry.name.isdigit() or os.stat(entry.path).st_uid not in self.ids:
                    continue
                userns = os.stat(f"{entry.path}/ns/user").st_ino
                with open(f"{entry.path}/environ", "rb") as handle:
                    if mark in handle.read():
                        tagged.append(int(entry.name))
                        namespaces.add(userns)
                owned.append((int(entry.name), userns))
            except OSError:
                continue
        return sorted({*tagged, *(pid for pid, userns in owned if userns in namespaces)})


def _needs() -> str | None:
    if os.geteuid() != 0:
        return "the rootless tests make their user as root"
    for tool in ("newuidmap", "newgidmap", "setpriv", "useradd"):
        if not shutil.which(tool):
            return f"{tool} is missing (Debian: apt-get install uidmap)"
    if not (shutil.which("pasta") or shutil.which("slirp4netns")):
        return "pasta is missing (Debian: apt-get install passt)"
    return None


@pytest.fixture(scope="module")
def user() -> User:
    reason = _needs()
    if reason:
        pytest.skip(reason)
    found = User.make("berth-rootless-")
    yield found
    try:
        for pid in found.processes():  # only when a test failed midway
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        wait_for(lambda: not found.processes(), timeout=10)
    finally:
        shutil.rmtree(found.base)


@pytest.fixture(scope="module")
def image(user: User) -> str:
    """A busybox image of the user's own, imported by the user."""
    root = busybox_rootfs(user.base / "busybox")
    user.give(root)
    start = user.ids.start
    os.chown(root / "home" / "app", start + 999, start + 999)  # uid 1000 inside
    done = user.berth("image", "import", str(root), "bb:rootless")
    assert done.returncode == 0, done.stderr
    shutil.rmtree(root)
    return "bb:rootless"
