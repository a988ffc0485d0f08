"""A cache of loaded projects, so that `up` and `down` of an unchanged project skip
parsing, schema validation and graph building (most of their start-up time).

An entry records every file the load read (with its digest) and every environment
variable it looked at (with its value); it is used only while all of them are unchanged.
Entries are pickles in the user's own cache directory (mode 0700).
"""
from __future__ import annotations

import hashlib
import json
import os
import pickle
from pathlib import Path

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


def load(opts: LoadOptions, cache_dir: Path | None) -> Project:
    inputs = resolve_inputs(opts)
    if cache_dir is None or "-" in inputs.files:
        return load_project(opts, inputs)
    path = cache_dir / f"{_key(opts, inputs)}.pickle"
    try:
        with open(path, "rb") as handle:
            entry = pickle.load(handle)
        if _valid(entry, inputs):
            return entry["project"]
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, KeyError, TypeError,
            ImportError):
        pass
    record = Record()
    project = load_project(opts, inputs, record)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            pickle.dump({"files": record.files, "env": record.env, "project": project}, handle,
                        protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError:
        pass  # a cache that cannot be written is just a slower start
    return project
