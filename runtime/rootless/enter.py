"""The CLI's one hook: a berth command run by a user other than root joins (or starts)
the user's rootless session before anything else, with berth's state in the user's own
directories, and then runs as root would, inside."""
from __future__ import annotations

import os
from pathlib import Path
from typing import MutableMapping

# the commands that never reach the runtime: they run as they are, with no session
NO_RUNTIME = frozenset({"config", "version", "kube", "login", "logout"})


def data_home(environ: MutableMapping[str, str]) -> Path:
    base = environ.get("XDG_DATA_HOME") or os.path.join(environ.get("HOME") or
                                                        os.path.expanduser("~"), ".local/share")
    return Path(base) / "berth"


def run_dir(environ: MutableMapping[str, str], uid: int) -> Path:
    """$XDG_RUNTIME_DIR/berth, else a directory of the user's own under /tmp (refused
    when someone else made it first)."""
    runtime = environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime):
        return Path(runtime) / "berth"
    path = Path(f"/tmp/berth-{uid}")
    try:
        path.mkdir(mode=0o700)
    except FileExistsError:
        st = path.lstat()
        if st.st_uid != uid or not path.is_dir() or path.is_symlink() or st.st_mode & 0o077:
            from .checks import RootlessError
            raise RootlessError(f"{path} belongs to someone else: set XDG_RUNTIME_DIR "
                                "to a directory of your own") from None
    return path


def enter(environ: MutableMapping[str, str], words: list[str]) -> list[str]:
    """Join the session when this process is not root (and the command needs the
    runtime): BERTH_ROOT and BERTH_RUN default to the user's directories. Returns the
    warnings for the user (a session started with BERTH_SINGLE_ID=1). What the system
    refuses on the way (a run directory not the user's, a working directory gone) is
    one RootlessError naming it."""
    if os.geteuid() == 0 or (words and words[0] in NO_RUNTIME) or not words:
        return []
    from .checks import RootlessError  # not before: `berth version` stays fast

    try:
        return _enter(environ)
    except OSError as err:
        where = f" ({err.filename})" if err.filename else ""
        raise RootlessError(f"cannot join the rootless session: {err.strerror}{where}") from None


def _enter(environ: MutableMapping[str, str]) -> list[str]:
    from . import checks, session

    warnings: list[str] = []

    uid, gid = os.getuid(), os.getgid()
    environ.setdefault("BERTH_ROOT", str(data_home(environ)))
    run = Path(environ.setdefault("BERTH_RUN", str(run_dir(environ, uid))))
    run.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = session.locked(run, exclusive=False)
    try:
        found = session.load(run)
        if found is None:
            os.close(fd)
            fd = session.locked(run, exclusive=True)
            found = session.load(run)
            if found is None:
                single = environ.get("BERTH_SINGLE_ID") == "1"
                uids, gids = checks.preflight(uid, gid, single)
                found = session.start(run, session.Maps(uid, gid, uids, gids))
                warnings += [checks.SINGLE_ID_WARNING] if single else []
        session.join(found)
    finally:
        os.close(fd)
    return warnings
