"""What the rootless tests need on the machine, made idempotently as root (by `.ci/run`
and by the tests' fixture): an ordinary user with /etc/subuid and /etc/subgid ranges,
/dev/net/tun usable by users (the mode udev gives it), and a Python environment with
berth's dependencies that the user may run (root's interpreter may live under /root).

    python3 -m tests.rootless.setup
"""
from __future__ import annotations

import fcntl
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

USER = "berth-rootless"
VENV = Path("/opt/berth-rootless")
SYSTEM_PYTHON = "/usr/bin/python3"
REPO = Path(__file__).resolve().parents[2]
RANGE = 65536
CODE = ("common", "compose", "runtime", "schemas")  # what berth runs from


def ensure_user(name: str = USER) -> pwd.struct_passwd:
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", name], check=True)
        entry = pwd.getpwnam(name)
    for path, flag in (("/etc/subuid", "--add-subuids"), ("/etc/subgid", "--add-subgids")):
        text = Path(path).read_text() if os.path.exists(path) else ""
        if not any(line.split(":")[0] in (name, str(entry.pw_uid)) for line in text.splitlines()):
            start = free_start(text)
            subprocess.run(["usermod", flag, f"{start}-{start + RANGE - 1}", name], check=True)
    return entry


def free_start(text: str, floor: int = 100000) -> int:
    """The first id after every range of /etc/subuid-style `text` (at least `floor`)."""
    end = floor
    for line in text.splitlines():
        fields = line.split(":")
        if len(fields) == 3 and fields[1].isdigit() and fields[2].isdigit():
            end = max(end, int(fields[1]) + int(fields[2]))
    return end


def ensure_tun() -> None:
    if os.path.exists("/dev/net/tun"):
        os.chmod("/dev/net/tun", 0o666)


def dependencies() -> list[str]:
    with open(REPO / "pyproject.toml", "rb") as handle:
        return tomllib.load(handle)["project"]["dependencies"]


def ensure_venv() -> Path:
    """The environment's python (made, or completed, when berth's dependencies changed
    since it was made: the list it was made with is kept beside it)."""
    python = VENV / "bin" / "python"
    wanted = "\n".join(dependencies()) + "\n"
    made_with = VENV / "berth-dependencies.txt"
    if python.exists() and made_with.exists() and made_with.read_text() == wanted:
        return python
    subprocess.run([SYSTEM_PYTHON, "-m", "venv", VENV], check=True)
    subprocess.run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    *dependencies()], check=True)
    made_with.write_text(wanted)
    return python


def ensure() -> tuple[pwd.struct_passwd, Path]:
    """Everything, under a lock (pytest's workers may ask at once)."""
    VENV.parent.mkdir(parents=True, exist_ok=True)
    lock = os.open(VENV.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        entry = ensure_user()
        ensure_tun()
        return entry, ensure_venv()
    finally:
        os.close(lock)


@dataclass(frozen=True)
class Ids:
    """The user's own id and its subordinate range."""

    own: int
    start: int
    count: int

    @classmethod
    def of(cls, entry: pwd.struct_passwd) -> "Ids":
        for line in Path("/etc/subuid").read_text().splitlines():
            name, start, count = line.split(":")
            if name in (entry.pw_name, str(entry.pw_uid)):
                return cls(entry.pw_uid, int(start), int(count))
        raise LookupError(f"{entry.pw_name} has no /etc/subuid range")

    def __contains__(self, uid: object) -> bool:
        return uid == self.own or (isinstance(uid, int)
                                   and self.start <= uid < self.start + self.count)


@dataclass
class Workspace:
    """A directory of the user's own under /tmp (root's temporary directories are root's
    alone): a copy of berth's code, a HOME and an XDG_RUNTIME_DIR; and how to run berth
    there as the user, in a clean environment as from a login."""

    entry: pwd.struct_passwd
    python: Path
    base: Path
    ids: Ids

    @classmethod
    def make(cls, prefix: str) -> "Workspace":
        entry, python = ensure()
        base = Path(tempfile.mkdtemp(prefix=prefix))
        os.chmod(base, 0o755)
        for name in CODE:
            shutil.copytree(REPO / name, base / "src" / name,
                            ignore=shutil.ignore_patterns("__pycache__"))
        (base / "home").mkdir()
        (base / "xdg").mkdir(mode=0o700)
        made = cls(entry, python, base, Ids.of(entry))
        made.give(base)
        return made

    @property
    def home(self) -> Path:
        return self.base / "home"

    @property
    def runtime(self) -> Path:
        return self.base / "xdg"

    def command(self, *args: str, **extra: str) -> list[str]:
        """`berth ARGS` as the user, with `extra` in its environment."""
        env = {"HOME": str(self.home), "USER": self.entry.pw_name, "LANG": "C.UTF-8",
               "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
               "XDG_RUNTIME_DIR": str(self.runtime), "PYTHONPATH": str(self.base / "src"),
               **extra}
        return ["setpriv", f"--reuid={self.entry.pw_uid}", f"--regid={self.entry.pw_gid}",
                "--init-groups", "--reset-env", "env", "-i",
                *(f"{k}={v}" for k, v in env.items()), str(self.python), "-m", "compose",
                *args]

    def give(self, path: Path) -> None:
        """`path` (a tree) to the user."""
        for root, dirs, files in os.walk(path):
            for name in [root, *(os.path.join(root, n) for n in dirs + files)]:
                os.lchown(name, self.entry.pw_uid, self.entry.pw_gid)


if __name__ == "__main__":
    if os.geteuid() != 0:
        sys.exit("run as root")
    ensure()
