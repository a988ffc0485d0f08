"""A cache of loaded projects, so that `up` and `down` of an unchanged project skip
parsing, schema validation and graph building (most of their start-up time).

An entry records every file the load read (with its digest) and every environment
variable it looked at (with its value); it is used only while all of them are unchanged.
Entries are JSON (compose.modeljson: reading one runs no code) in the user's own cache
directory (mode 0700). A directory or entry that is not the caller's own, or that others
may write, is ignored: root running berth with a user's cache (`sudo -E`) must not take
a project from that user's files.
"""
from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

from . import modeljson
from .inputs import Inputs, LoadOptions, Record, resolve_inputs
from .model import Project

_CODE = Path(__file__).resolve().parent


def _code_stamp() -> list[int]:
    """Entries from another version of berth are never reused."""
    return sorted(p.stat().st_mtime_ns for p in _CODE.glob("*.py"))


def _key(opts: LoadOptions, inputs: Inputs) -> str:
    raw = json.dumps([_code_stamp(), opts.cwd, opts.files, opts.project_name,
                      opts.project_directory, opts.env_files, opts.profiles, opts.targets,
                      inputs.files, inputs.project_dir], sort_keys=True)
    return hashlib.sha256(raw.encode()).hexdigest()[:40]


def _digest(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return hashlib.sha256(handle.read().encode()).hexdigest()
    except (FileNotFoundError, IsADirectoryError, UnicodeDecodeError):
        return None


def _valid(entry: dict, inputs: Inputs) -> bool:
    return (all(inputs.env.get(key) == value for key, value in entry["env"].items())
            and all(_digest(path) == digest for path, digest in entry["files"].items()))


def _trusted(fd: int) -> bool:
    """Whether a cache directory or entry is the caller's own and nobody else may write it."""
    st = os.fstat(fd)
    return st.st_uid == os.geteuid() and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _open_dir(cache_dir: Path, create: bool) -> int | None:
    """An fd of the cache directory if it is trusted (made first with `create`); every
    later look happens through it, so a directory swapped meanwhile is never used."""
    try:
        if create:
            cache_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(cache_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    if _trusted(fd):
        return fd
    os.close(fd)
    return None


def _read(dir_fd: int, name: str) -> dict | None:
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                     dir_fd=dir_fd)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode) or not _trusted(fd):
            return None
        try:
            return json.loads(handle.read())
        except ValueError:
            return None


def _write(dir_fd: int, name: str, entry: dict) -> None:
    tmp = f".{name}.tmp{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                 0o600, dir_fd=dir_fd)
    with os.fdopen(fd, "w") as handle:
        json.dump(entry, handle, separators=(",", ":"))
    os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)


def load(opts: LoadOptions, cache_dir: Path | None) -> Project:
    inputs = resolve_inputs(opts)
    if cache_dir is None or "-" in inputs.files:
        from .load import load_project

        return load_project(opts, inputs)
    name = f"{_key(opts, inputs)}.json"
    dir_fd = _open_dir(cache_dir, create=False)
    try:
        entry = _read(dir_fd, name) if dir_fd is not None else None
        if entry is not None:
            try:
                if _valid(entry, inputs):
                    return modeljson.decode(Project, entry["project"])
            except (KeyError, TypeError, AttributeError, ValueError):
                pass  # an entry of another shape: load afresh and replace it
        from .load import load_project  # the parser, schema and graph: only on a miss

        record = Record()
        project = load_project(opts, inputs, record)
        if dir_fd is None and not cache_dir.exists():
            dir_fd = _open_dir(cache_dir, create=True)
        if dir_fd is not None:
            try:
                _write(dir_fd, name, {"files": record.files, "env": record.env,
                                      "project": modeljson.encode(project)})
            except OSError:
                pass  # a cache that cannot be written is just a slower start
        return project
    finally:
        if dir_fd is not None:
            os.close(dir_fd)
