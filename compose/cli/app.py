"""The typer app, its global options (docker compose's), how commands load a project and
reach the backend, and how they show the service API's work."""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, List, Optional

import typer

from common import timings

from ..errors import ComposeError
from . import timings_wanted

if TYPE_CHECKING:
    from ..backend import Backend
    from ..inputs import LoadOptions
    from ..model import Project
    from .progress import Progress

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  context_settings={"help_option_names": ["-h", "--help"]},
                  help="berth: run compose projects with berth's own container runtime.")


PROGRESS_MODES = ("auto", "tty", "plain", "json", "quiet")
ANSI_MODES = ("auto", "never", "always")


@dataclass
class GlobalOptions:
    files: tuple[str, ...] = ()
    project_name: str | None = None
    project_directory: str | None = None
    env_files: tuple[str, ...] = ()
    profiles: tuple[str, ...] = ()
    dry_run: bool = False  # report every change, make none
    progress: str = "auto"  # auto, tty, plain, json, quiet
    ansi: str = "auto"  # auto, never, always
    parallel: int = -1  # at most this many builds and pulls at once (-1: berth's bound)
    all_resources: bool = False  # every network and volume, used by a service or not
    compatibility: bool = False  # docker-compose v1's names: project_service_1
    extra: dict = field(default_factory=dict)

    def load_options(self, targets: tuple[str, ...] = ()) -> "LoadOptions":
        from ..inputs import LoadOptions

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
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would change; change nothing."),
    progress_mode: Optional[str] = typer.Option(None, "--progress", help="auto, tty, plain, json or quiet."),
    ansi: Optional[str] = typer.Option(None, "--ansi", help="auto, never or always."),
    parallel: Optional[int] = typer.Option(None, "--parallel", help="Most builds and pulls at once (-1: berth's bound)."),
    all_resources: bool = typer.Option(False, "--all-resources", help="Also the networks and volumes no service uses."),
    compatibility: bool = typer.Option(False, "--compatibility", help="docker-compose v1's container names (project_service_1)."),
    timings_: bool = typer.Option(False, "--timings", help="Show where the command's time went (also BERTH_TIMINGS=1)."),
) -> None:
    env = os.environ
    if timings_ or timings_wanted(env):
        timings.enable()
    progress_mode = progress_mode or env.get("COMPOSE_PROGRESS") or "auto"
    ansi = ansi or env.get("COMPOSE_ANSI") or "auto"
    if progress_mode not in PROGRESS_MODES:
        raise typer.BadParameter(f"{progress_mode!r}: use {', '.join(PROGRESS_MODES)}",
                                 param_hint="--progress")
    if ansi not in ANSI_MODES:
        raise typer.BadParameter(f"{ansi!r}: use {', '.join(ANSI_MODES)}", param_hint="--ansi")
    if parallel is None:
        limit = env.get("COMPOSE_PARALLEL_LIMIT", "")
        parallel = int(limit) if limit.lstrip("-").isdigit() else -1
    if parallel == 0 or parallel < -1:
        raise typer.BadParameter("a number of at least 1, or -1", param_hint="--parallel")
    ctx.obj = GlobalOptions(files=tuple(file or ()), project_name=project_name,
                            project_directory=project_directory, env_files=tuple(env_file or ()),
                            profiles=tuple(profile or ()), dry_run=dry_run,
                            progress=progress_mode, ansi=ansi, parallel=parallel,
                            all_resources=all_resources,
                            compatibility=compatibility or _true(env.get("COMPOSE_COMPATIBILITY")))
    _given.append(ctx.obj)


def _true(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes")


_given: list[GlobalOptions] = []  # the global options of the command being run


def options() -> GlobalOptions:
    """The global options of the command being run."""
    return _given[-1] if _given else GlobalOptions()


def load(ctx: typer.Context, targets: tuple[str, ...] = ()) -> "Project":
    """Load the project the global options point at; unknown target services are an error."""
    from ..cache import load as load_cached

    opts: GlobalOptions = ctx.find_root().obj
    with timings.phase("load the project"):
        project = load_cached(opts.load_options(targets), cache_dir())
    for name in targets:
        if name not in project.services:
            raise ComposeError(f"no such service: {name}")
    if opts.compatibility:
        import dataclasses

        project = dataclasses.replace(project, separator="_")
    return project


def project_name(ctx: typer.Context) -> tuple["Project | None", str]:
    """The project (when its files load) and its name. Commands that only act on what
    exists (down, ps, logs, stop...) still work with -p when the files are gone."""
    from ..inputs import normalize_project_name

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
    """The backend on berth's runtime, for BERTH_ROOT (with --dry-run, one that changes
    nothing)."""
    with timings.phase("open the runtime"):
        from ..adapter import RuntimeBackend

        real = RuntimeBackend(os.environ)
    if not options().dry_run:
        return real
    from ..dryrun import DryRunBackend

    return DryRunBackend(real)


def progress(title: str = "Running", builds: bool = True, quiet: bool = False) -> "Progress":
    """A reporter that shows the service API's events as --progress and --ansi say
    (nothing when `quiet`; close it when done)."""
    from .progress import Progress

    opts = options()
    return Progress(title=title, builds=builds, mode="quiet" if quiet else progress_mode(opts),
                    dry_run=opts.dry_run)


def progress_mode(opts: GlobalOptions) -> str:
    """tty, plain, json or quiet: `auto` is tty on a terminal (unless --ansi never)."""
    if opts.progress == "auto":
        if opts.ansi == "always" or (opts.ansi == "auto" and sys.stderr.isatty()):
            return "tty"
        return "plain"
    return opts.progress


def color(stream=None) -> bool:
    """Whether to colour output on `stream` (stdout): --ansi, else whether it is a
    terminal."""
    opts = options()
    return opts.ansi == "always" or (opts.ansi == "auto" and (stream or sys.stdout).isatty())


def parallel() -> int:
    """--parallel: at most this many builds and pulls at once (berth's bound for -1)."""
    from ..service_images import MAX_PARALLEL

    limit = options().parallel
    return MAX_PARALLEL if limit == -1 else limit


def cache_dir():
    """Where loaded projects are cached (BERTH_NO_CACHE=1 turns the cache off)."""
    from pathlib import Path

    if os.environ.get("BERTH_NO_CACHE"):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "berth" / "projects"



