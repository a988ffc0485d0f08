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
from .load import Inputs, LoadOptions, Record, load_project, resolve_inputs
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


def _trusted(path: Path | int) -> bool:
    """Whether a cache directory or entry is the caller's own and nobody else may write it."""
    try:
        st = os.stat(path) if not isinstance(path, int) else os.fstat(path)
    except OSError:
        return False
    return st.st_uid == os.geteuid() and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _read(path: Path) -> dict | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        if not _trusted(fd):
            return None
        try:
            return json.loads(handle.read())
        except ValueError:
            return None


def load(opts: LoadOptions, cache_dir: Path | None) -> Project:
    inputs = resolve_inputs(opts)
    if cache_dir is None or "-" in inputs.files:
        return load_project(opts, inputs)
    path = cache_dir / f"{_key(opts, inputs)}.json"
    usable = not cache_dir.exists() or _trusted(cache_dir)
    entry = _read(path) if usable else None
    if entry is not None:
        try:
            if _valid(entry, inputs):
                return modeljson.decode(Project, entry["project"])
        except (KeyError, TypeError, AttributeError, ValueError):
            pass  # an entry of another shape: load afresh and replace it
    record = Record()
    project = load_project(opts, inputs, record)
    if not usable:
        return project
    try:
        cache_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC,
                     0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump({"files": record.files, "env": record.env,
                       "project": modeljson.encode(project)}, handle, separators=(",", ":"))
        os.replace(tmp, path)
    except OSError:
        pass  # a cache that cannot be written is just a slower start
    return project
