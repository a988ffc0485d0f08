"""The typer app, its global options (docker compose's), how commands load a project and
reach the backend, and how they show the service API's work."""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, List, Optional

import typer

from ..errors import ComposeError

if TYPE_CHECKING:
    from ..backend import Backend
    from ..load import LoadOptions
    from ..model import Project
    from .progress import Progress

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  context_settings={"help_option_names": ["-h", "--help"]},
                  help="berth: run compose projects with berth's own container runtime.")


@dataclass
class GlobalOptions:
    files: tuple[str, ...] = ()
    project_name: str | None = None
    project_directory: str | None = None
    env_files: tuple[str, ...] = ()
    profiles: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict)

    def load_options(self, targets: tuple[str, ...] = ()) -> "LoadOptions":
        from ..load import LoadOptions

        return LoadOptions(cwd=os.getcwd(), environ=dict(os.environ), files=self.files,
                           project_name=self.project_name,
                           project_directory=self.project_directory,
                           env_files=self.env_files, profiles=self.profiles, targets=targets,
                           read_stdin=sys.stdin.read)


@app.callback()
def global_options(
    ctx: typer.Context,
    file: Optional[List[str]] = typer.Option(None, "-f", "--file", help="Compose file (repeatable; - for stdin)."),
    project_name: Optional[str] = typer.Option(None, "-p", "--project-name", help="Project name."),
    project_directory: Optional[str] = typer.Option(None, "--project-directory", help="Project working directory."),
    env_file: Optional[List[str]] = typer.Option(None, "--env-file", help="Environment file (repeatable)."),
    profile: Optional[List[str]] = typer.Option(None, "--profile", help="Enable a profile (repeatable)."),
) -> None:
    ctx.obj = GlobalOptions(files=tuple(file or ()), project_name=project_name,
                            project_directory=project_directory, env_files=tuple(env_file or ()),
                            profiles=tuple(profile or ()))


def load(ctx: typer.Context, targets: tuple[str, ...] = ()) -> "Project":
    """Load the project the global options point at; unknown target services are an error."""
    from ..cache import load as load_cached

    opts: GlobalOptions = ctx.find_root().obj
    project = load_cached(opts.load_options(targets), cache_dir())
    for name in targets:
        if name not in project.services:
            raise ComposeError(f"no such service: {name}")
    return project


def project_name(ctx: typer.Context) -> tuple["Project | None", str]:
    """The project (when its files load) and its name. Commands that only act on what
    exists (down, ps, logs, stop...) still work with -p when the files are gone."""
    from ..load import normalize_project_name

    try:
        project = load(ctx)
        return project, project.name
    except ComposeError:
        opts = ctx.find_root().obj
        name = opts.project_name or os.environ.get("COMPOSE_PROJECT_NAME")
        if not name:
            raise
        return None, normalize_project_name(name, explicit=True)


def backend() -> "Backend":
    """The backend on berth's runtime, for BERTH_ROOT."""
    from ..adapter import RuntimeBackend

    return RuntimeBackend(os.environ)


def progress(title: str = "Running", builds: bool = True) -> "Progress":
    """A reporter that shows the service API's events (close it when done)."""
    from .progress import Progress

    return Progress(title=title, builds=builds)


def cache_dir():
    """Where loaded projects are cached (BERTH_NO_CACHE=1 turns the cache off)."""
    from pathlib import Path

    if os.environ.get("BERTH_NO_CACHE"):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "berth" / "projects"



