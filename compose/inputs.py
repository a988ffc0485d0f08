"""What a command finds before loading a project, cheaply and without the YAML parser:
the options of a load, the compose files (found as docker compose finds them), the
interpolation environment (.env, --env-file), the project directory, and the rules for
project names. compose.cache decides from these alone whether a cached project is still
good; compose.load does the rest.
"""
from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from typing import Callable, Mapping

from .dotenv import DotenvError, parse_dotenv
from .errors import ComposeError

COMPOSE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
_PROJECT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
MAX_PROJECT_NAME = 63  # a DNS label's length


@dataclass(frozen=True)
class LoadOptions:
    cwd: str
    environ: Mapping[str, str] = field(default_factory=dict)
    files: tuple[str, ...] = ()  # "-f"; "-" reads stdin
    project_name: str | None = None
    project_directory: str | None = None
    env_files: tuple[str, ...] = ()
    profiles: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()  # services named on the command line: their profiles are on
    read_stdin: Callable[[], str] | None = None
    # stages `config` can leave out (--no-interpolate, --no-path-resolution)
    interpolate: bool = True
    resolve_paths: bool = True


class Record:
    """What a load depended on besides its options: files read (and their digests) and
    environment variables looked at (and their values). A cached project is valid while
    they are unchanged (see compose.cache)."""

    def __init__(self) -> None:
        self.files: dict[str, str | None] = {}
        self.env: dict[str, str | None] = {}

    def read(self, path: str) -> str | None:
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except FileNotFoundError:
            self.files[path] = None
            return None
        self.files[path] = hashlib.sha256(text.encode()).hexdigest()
        return text


def discover(cwd: str) -> list[str]:
    """The compose file (and its override file) in `cwd` or the nearest parent directory."""
    directory = os.path.abspath(cwd)
    while True:
        for name in COMPOSE_NAMES:
            candidate = os.path.join(directory, name)
            if os.path.isfile(candidate):
                stem, ext = os.path.splitext(name)
                found = [candidate]
                for override in (f"{stem}.override{ext}", f"{stem}.override.yml",
                                 f"{stem}.override.yaml"):
                    path = os.path.join(directory, override)
                    if os.path.isfile(path) and path not in found:
                        found.append(path)
                        break
                return found
        parent = os.path.dirname(directory)
        if parent == directory:
            raise ComposeError(f"no compose file found in {cwd} or any parent directory "
                               f"(looked for {', '.join(COMPOSE_NAMES)})")
        directory = parent


def read_env_file(path: str, lookup: Callable[[str], str | None],
                  read: Callable[[str], str | None] | None = None) -> dict[str, str]:
    try:
        if read is not None:
            text = read(path)
        else:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
    except FileNotFoundError:
        text = None
    except OSError as err:
        raise ComposeError(f"cannot read env file {path}: {err.strerror}") from None
    if text is None:
        raise ComposeError(f"env file {path} not found")
    try:
        return parse_dotenv(text, lookup)
    except DotenvError as err:
        raise ComposeError(str(err).split(": ", 1)[-1], file=path, line=err.line) from None


def normalize_project_name(name: str, explicit: bool) -> str:
    """Explicit names must already be valid; names from directories are cleaned up. At
    most MAX_PROJECT_NAME characters either way: a project's name goes into the names of
    its containers, networks and volumes, and into file names."""
    if explicit:
        if not _PROJECT_NAME.match(name):
            raise ComposeError(f"invalid project name {_short(name)!r}: use only lowercase "
                               "letters, digits, '-' and '_', starting with a letter or digit")
        cleaned = name
    else:
        cleaned = re.sub(r"[^a-z0-9_-]", "", name.lower()).lstrip("_-")
        if not cleaned:
            raise ComposeError(f"cannot derive a project name from directory {name!r}; "
                               "set one with -p or 'name:'")
    if len(cleaned) > MAX_PROJECT_NAME:
        raise ComposeError(f"project name {_short(cleaned)!r} is {len(cleaned)} characters "
                           f"long; at most {MAX_PROJECT_NAME} (set a shorter one with -p or "
                           "'name:')")
    return cleaned


def _short(text: str) -> str:
    return text if len(text) <= 40 else text[:37] + "..."


def _environment(opts: LoadOptions, first_dir: str | None) -> dict[str, str]:
    """The interpolation environment: .env / --env-file values under the process env."""
    environ = dict(opts.environ)
    values: dict[str, str] = {}
    if opts.env_files:
        for path in opts.env_files:
            path = os.path.join(opts.cwd, path)
            values.update(read_env_file(path, lambda k: values.get(k, environ.get(k))))
        return {**values, **environ}
    seen = set()
    for directory in (opts.project_directory and os.path.join(opts.cwd, opts.project_directory),
                      opts.cwd, first_dir):
        if not directory:
            continue
        path = os.path.join(directory, ".env")
        if path in seen or not os.path.isfile(path):
            continue
        seen.add(path)
        for key, value in read_env_file(path, lambda k: values.get(k, environ.get(k))).items():
            values.setdefault(key, value)  # the first .env found has precedence
    return {**values, **environ}


def _compose_files(opts: LoadOptions, env: Mapping[str, str]) -> list[str]:
    if opts.files:
        return [f if f == "-" else os.path.abspath(os.path.join(opts.cwd, f)) for f in opts.files]
    if env.get("COMPOSE_FILE"):
        sep = env.get("COMPOSE_PATH_SEPARATOR", os.pathsep)
        return [os.path.abspath(os.path.join(opts.cwd, f))
                for f in env["COMPOSE_FILE"].split(sep) if f]
    start = opts.project_directory and os.path.join(opts.cwd, opts.project_directory)
    return discover(start or opts.cwd)


@dataclass(frozen=True)
class Inputs:
    """What is found cheaply before loading: the environment, the files, the directory."""

    env: dict
    files: tuple[str, ...]
    project_dir: str


def resolve_inputs(opts: LoadOptions) -> Inputs:
    env = _environment(opts, None)
    files = _compose_files(opts, env)
    if opts.project_directory:
        project_dir = os.path.abspath(os.path.join(opts.cwd, opts.project_directory))
    elif files[0] == "-":
        project_dir = os.path.abspath(opts.cwd)
    else:
        project_dir = os.path.dirname(files[0])
    if not opts.env_files and project_dir != os.path.abspath(opts.cwd):
        env = _environment(opts, project_dir)
    return Inputs(env, tuple(files), project_dir)
