"""Load a compose project: run the stages in order, nothing else.

files -> YAML -> interpolate -> schema -> canonical -> paths -> merge -> extends ->
include -> finalize -> profiles -> normalize -> typed model -> semantic checks.

Effects come in through LoadOptions (environment, working directory, stdin);
nothing here reads os.environ, changes directory, prints or exits.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any, Mapping

from . import typed
from .canonical import canonical
from .errors import ComposeError
from .extends import resolve_extends
from .inputs import (Inputs, LoadOptions, Record, normalize_project_name, read_env_file,
                     resolve_inputs)
from .interpolate import interpolate
from .merge import finalize, merge
from .model import Project
from .normalize import normalize
from .paths import resolve_paths
from .template import Variable
from .validate import check_project, check_schema
from .yamlsrc import Positions, parse_yaml


class TrackedEnv(Mapping):
    """The interpolation environment, noting every variable that is looked at."""

    def __init__(self, values: dict[str, str], record: Record) -> None:
        self._values = values
        self._record = record

    def __getitem__(self, key: str) -> str:
        self._record.env[key] = self._values.get(key)
        return self._values[key]

    def get(self, key: str, default=None):
        self._record.env[key] = self._values.get(key)
        return self._values.get(key, default)

    def __contains__(self, key: object) -> bool:
        self._record.env[key] = self._values.get(key)  # type: ignore[index]
        return key in self._values

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def plain(self) -> dict[str, str]:
        return dict(self._values)


class SourceMap:
    """Where each path of each loaded file was written, to locate errors."""

    def __init__(self) -> None:
        self._files: list[tuple[str, Positions]] = []

    def add(self, file: str, positions: Positions) -> None:
        self._files.append((file, positions))

    def locate(self, err: ComposeError) -> ComposeError:
        if err.line is not None:
            return err
        files = [(f, p) for f, p in self._files if err.file in (None, f)]
        for length in range(len(err.path), -1, -1):
            prefix = err.path[:length]
            for file, positions in reversed(files):
                if prefix in positions:
                    line, col = positions[prefix]
                    return err.located(file, line, col)
        return err.located(files[-1][0] if files else None)


class _Loader:
    def __init__(self, opts: LoadOptions, record: Record) -> None:
        self.opts = opts
        self.record = record
        self.sources = SourceMap()
        self.home = opts.environ.get("HOME")
        self._file_cache: dict[tuple[str, str], dict] = {}

    def read(self, path: str) -> str:
        if path == "-":
            if self.opts.read_stdin is None:
                raise ComposeError("cannot read a compose file from stdin here")
            return self.opts.read_stdin()
        try:
            text = self.record.read(path)
        except IsADirectoryError:
            raise ComposeError(f"{path} is a directory, not a compose file") from None
        except OSError as err:
            raise ComposeError(f"cannot read {path}: {err.strerror}") from None
        except UnicodeDecodeError:
            raise ComposeError(f"{path} is not UTF-8 text") from None
        if text is None:
            raise ComposeError(f"compose file {path} not found")
        return text

    def load_file(self, path: str, base_dir: str, env: Mapping[str, str]) -> dict:
        """One file, up to its long form with absolute paths."""
        key = (path, base_dir)
        if key in self._file_cache:
            return self._file_cache[key]
        name = "stdin" if path == "-" else path
        data, positions = parse_yaml(self.read(path), name)
        self.sources.add(name, positions)
        try:
            if data is None:
                data = {}
            if not isinstance(data, dict):
                raise ComposeError(f"top level must be a mapping, not {type(data).__name__}",
                                   file=name, line=1)
            if self.opts.interpolate:
                data = interpolate(data, env.get)
            check_schema(data, name)
            tree = canonical(data)
            if self.opts.resolve_paths:
                tree = resolve_paths(tree, base_dir, self.home)
        except ComposeError as err:
            raise self.sources.locate(err.located(name)) from None
        self._file_cache[key] = tree
        return tree

    def load_tree(self, files: list[str], base_dir: str, env: Mapping[str, str],
                  include_chain: tuple[str, ...]) -> dict:
        """Several files merged, with extends and includes applied (markers kept)."""
        tree: dict = {}
        for path in files:
            tree = merge(tree, self.load_file(path, base_dir, env))
        main = "stdin" if files[0] == "-" else files[0]

        def services_of(path: str) -> dict:
            other = self.load_file(path, os.path.dirname(path), env)
            return other.get("services") or {}

        try:
            if isinstance(tree.get("services"), dict):
                tree["services"] = resolve_extends(tree["services"], main, services_of)
        except ComposeError as err:
            raise self.sources.locate(err.located(main)) from None
        for include in tree.pop("include", None) or ():
            self.apply_include(tree, include, env, include_chain + tuple(files))
        return tree

    def apply_include(self, tree: dict, include: dict, env: Mapping[str, str],
                      chain: tuple[str, ...]) -> None:
        paths = include["path"]
        for path in paths:
            if path in chain:
                raise ComposeError(f"include cycle: {' -> '.join(chain + (path,))}")
        project_dir = include.get("project_directory") or os.path.dirname(paths[0])
        env_files = include.get("env_file") or [os.path.join(project_dir, ".env")]
        sub_env: dict[str, str] = {}
        for env_file in env_files:
            if os.path.exists(env_file) or "env_file" in include:
                sub_env.update(read_env_file(env_file, lambda k: sub_env.get(k, env.get(k)),
                                             self.record.read))
        sub_env.update(env.plain() if isinstance(env, TrackedEnv) else env)  # ours win
        sub = self.load_tree(list(paths), project_dir, TrackedEnv(sub_env, self.record), chain)
        for section in ("services", "networks", "volumes", "secrets", "configs"):
            imported = sub.get(section) or {}
            if not imported:
                continue
            target = tree.setdefault(section, {}) if tree.get(section) is not None else {}
            tree[section] = target
            for name, value in imported.items():
                if name in target and target[name] != value:
                    raise ComposeError(f"{section[:-1]} {name!r} from included file "
                                       f"{paths[0]} conflicts with one already defined",
                                       path=(section, name))
                target[name] = value


def active_profiles(opts: LoadOptions, env: Mapping[str, str]) -> set[str]:
    if opts.profiles:
        return {p for item in opts.profiles for p in item.split(",") if p}
    return {p.strip() for p in env.get("COMPOSE_PROFILES", "").split(",") if p.strip()}


def written_services(opts: LoadOptions) -> dict[str, Mapping[str, Any]]:
    """Each service's keys as the files wrote them: merged, extended and included, in
    long form, before compose's implied values are filled in and before env_file and
    label_file are folded into environment and labels (what `berth kube`'s report
    names)."""
    inputs = resolve_inputs(opts)
    record = Record()
    tree = finalize(_Loader(opts, record).load_tree(list(inputs.files), inputs.project_dir,
                                                    TrackedEnv(inputs.env, record), ()))
    return {name: svc or {} for name, svc in (tree.get("services") or {}).items()}


@dataclass
class _Stages:
    """A project's tree up to its profiles, and what the later stages need."""

    tree: dict
    env: TrackedEnv
    files: list[str]
    project_dir: str
    disabled: dict
    all_profiles: list[str]
    sources: SourceMap


def _merged(opts: LoadOptions, inputs: Inputs, record: Record) -> _Stages:
    env = TrackedEnv(inputs.env, record)
    files, project_dir = list(inputs.files), inputs.project_dir
    loader = _Loader(opts, record)
    tree = finalize(loader.load_tree(files, project_dir, env, ()))

    if opts.project_name:
        name = normalize_project_name(opts.project_name, explicit=True)
    elif env.get("COMPOSE_PROJECT_NAME"):
        name = normalize_project_name(env["COMPOSE_PROJECT_NAME"], explicit=True)
    elif tree.get("name"):
        try:
            name = normalize_project_name(str(tree["name"]), explicit=True)
        except ComposeError as err:
            err.path = ("name",)
            raise loader.sources.locate(err) from None
    else:
        name = normalize_project_name(os.path.basename(project_dir), explicit=False)
    tree["name"] = name

    services: dict[str, Any] = tree.get("services") or {}
    profiles = active_profiles(opts, env)
    all_profiles = sorted({p for svc in services.values() for p in (svc or {}).get("profiles", [])})
    enabled, disabled = {}, {}
    for svc_name, svc in services.items():
        wanted = (svc or {}).get("profiles") or []
        if not wanted or "*" in profiles or profiles & set(wanted) or svc_name in opts.targets:
            enabled[svc_name] = svc
        else:
            disabled[svc_name] = svc
    tree["services"] = enabled
    return _Stages(tree, env, files, project_dir, disabled, all_profiles, loader.sources)


def load_project(opts: LoadOptions, inputs: Inputs | None = None,
                 record: Record | None = None) -> Project:
    """Load, merge, resolve and validate a project; raise ComposeError on bad input."""
    record = record or Record()
    stages = _merged(opts, inputs or resolve_inputs(opts), record)
    try:
        normalized = normalize(stages.tree, stages.tree["name"], stages.env, record.read)
        project = typed.project(normalized, working_dir=stages.project_dir,
                                compose_files=tuple(stages.files),
                                environment=stages.env.plain(), disabled=stages.disabled,
                                profiles=tuple(stages.all_profiles))
        check_project(project)
    except ComposeError as err:
        raise stages.sources.locate(err) from None
    from .graph import start_levels

    return dataclasses.replace(project, levels=tuple(tuple(level) for level in start_levels(project)))


def load_tree(opts: LoadOptions, normalized: bool = True) -> dict:
    """The project's tree without the typed model and its checks (`config
    --no-consistency`), or before compose's implied values are filled in (`config
    --no-normalize`)."""
    record = Record()
    stages = _merged(opts, resolve_inputs(opts), record)
    if not normalized:
        return stages.tree
    try:
        return normalize(stages.tree, stages.tree["name"], stages.env, record.read)
    except ComposeError as err:
        raise stages.sources.locate(err) from None


def file_variables(opts: LoadOptions) -> dict[str, Variable]:
    """The variables the project's files use (`config --variables`), by name: required
    when any use requires it, with the first default and alternate value written."""
    from .template import variables

    found: dict[str, Variable] = {}
    loader = _Loader(opts, Record())
    for path in resolve_inputs(opts).files:
        data, _ = parse_yaml(loader.read(path), "stdin" if path == "-" else path)
        for text in _strings(data):
            for var in variables(text):
                old = found.get(var.name, Variable(var.name))
                found[var.name] = Variable(var.name, old.required or var.required,
                                           old.default or var.default,
                                           old.alternate or var.alternate)
    return dict(sorted(found.items()))


def _strings(tree: Any):
    """Every string in a YAML tree (keys too)."""
    if isinstance(tree, str):
        yield tree
    elif isinstance(tree, dict):
        for key, value in tree.items():
            yield str(key)
            yield from _strings(value)
    elif isinstance(tree, (list, tuple)):
        for item in tree:
            yield from _strings(item)
    elif hasattr(tree, "value"):  # !override
        yield from _strings(tree.value)
