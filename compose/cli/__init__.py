"""The `berth` command line: the only place that prints or exits."""
from __future__ import annotations

import os
import sys

from common import timings
from common.errors import BerthError
from common.version import version_line



# the modules that define each command (or group), under compose.cli
MODULES = {
    "up": ("up",), "create": ("up",), "down": ("up",), "scale": ("up",),
    "start": ("lifecycle",), "stop": ("lifecycle",), "restart": ("lifecycle",),
    "kill": ("lifecycle",), "rm": ("lifecycle",), "pause": ("lifecycle",),
    "unpause": ("lifecycle",), "wait": ("lifecycle",),
    "ps": ("inspect",), "logs": ("inspect",), "top": ("inspect",), "port": ("inspect",),
    "images": ("inspect",), "volumes": ("inspect",), "ls": ("inspect",),
    "events": ("inspect",), "stats": ("inspect",), "version": ("inspect",),
    "exec": ("oneoff",), "run": ("oneoff",), "attach": ("oneoff",), "cp": ("oneoff",),
    "build": ("build",), "config": ("config",), "pull": ("registry",), "push": ("registry",),
    "watch": ("watch",), "container": ("engine.container", "engine.containerops"), "image": ("engine.image",),
    "network": ("engine.network",), "volume": ("engine.volume",),
    "login": ("engine.image",), "logout": ("engine.image",), "kube": ("kube",),
    "system": ("engine.system",), "builder": ("engine.system",),
    "export": ("artifacts",), "commit": ("artifacts",), "publish": ("artifacts",),
    "alpha": ("alpha",)}
ALL_MODULES = tuple(sorted({name for names in MODULES.values() for name in names}))


def main() -> None:
    timings.main_began()
    sys.dont_write_bytecode = False  # berth's own modules are worth caching as bytecode
    if sys.argv[1:] in (["version"], ["version", "--short"]):
        _version(short=len(sys.argv) > 2)  # the command floor: no typer, no compose model
    from importlib import import_module

    from .app import app

    sys.argv[1:] = hoisted(sys.argv[1:])
    words = invoked(sys.argv[1:])
    if os.geteuid() != 0:  # not root: join the user's rootless session (runtime/rootless)
        _rootless(words)
    for name in MODULES.get(words[0], ALL_MODULES) if words else ALL_MODULES:
        import_module(f"{__name__}.{name}")
    if words and not only_invoked(app, words):  # not a command after all: typer says so
        for name in ALL_MODULES:
            import_module(f"{__name__}.{name}")
    code = 0
    try:
        app()
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except BerthError as err:  # ComposeError and the runtime's errors alike
        print(f"berth: {err}", file=sys.stderr)
        code = getattr(err, "exit_code", 1)
    except KeyboardInterrupt:
        code = 130
    _exit(code)


def _rootless(words: list[str]) -> None:
    from ..adapter.session import join_session

    try:
        for warning in join_session(os.environ, words):
            print(f"berth: {warning}", file=sys.stderr)
    except BerthError as err:
        print(f"berth: {err}", file=sys.stderr)
        _exit(getattr(err, "exit_code", 1))


def timings_wanted(environ) -> bool:
    """BERTH_TIMINGS=1 (or true, yes): show where the command's time went."""
    return environ.get("BERTH_TIMINGS", "").lower() in ("1", "true", "yes")


def _version(short: bool) -> None:
    """`berth version`, as the typer command prints it (inspect.version)."""
    print(version_line(short))
    _exit(0)


# berth's global options that take a value (see app.global_options)
_GLOBAL_VALUES = {"-f", "--file", "-p", "--project-name", "--project-directory", "--env-file",
                  "--profile", "--progress", "--ansi", "--parallel"}


# berth's global options that docker compose takes after a command too (`up --dry-run`)
_ANYWHERE = {"--dry-run": False, "--progress": True, "--ansi": True, "--parallel": True,
             "--all-resources": False, "--compatibility": False, "--timings": False}
_OWN_DRY_RUN = ("kube",)  # commands with a --dry-run of their own
_COMMAND_AFTER = ("run", "exec")  # what follows their first argument is the container's


def hoisted(argv: list[str]) -> list[str]:
    """`argv` with the global options given after the command moved before it (up to
    `--`, and for run and exec up to their service)."""
    words = invoked(argv)
    if not words or words[0] in _OWN_DRY_RUN:
        return argv
    start = _command_at(argv) + 1
    moved: list[str] = []
    rest: list[str] = []
    args = iter(argv[start:])
    for arg in args:
        name = arg.split("=", 1)[0]
        if arg == "--" or (words[0] in _COMMAND_AFTER and not arg.startswith("-")):
            rest.append(arg)
            rest.extend(args)
            break
        if name in _ANYWHERE:
            moved.append(arg)
            if _ANYWHERE[name] and "=" not in arg:
                moved.append(next(args, ""))
        else:
            rest.append(arg)
    return argv[:start - 1] + moved + [argv[start - 1]] + rest


def _command_at(argv: list[str]) -> int:
    """The index of the command word, after the global options and their values."""
    index = 0
    while index < len(argv):
        if argv[index] in _GLOBAL_VALUES:
            index += 2
        elif argv[index].startswith("-"):
            index += 1
        else:
            return index
    return index


def invoked(argv: list[str]) -> list[str]:
    """The command words (a command, or a group and its command) after berth's global
    options."""
    words: list[str] = []
    args = iter(argv)
    for arg in args:
        if arg in _GLOBAL_VALUES:
            next(args, None)
        elif arg.startswith("-"):
            if words:
                break
        else:
            words.append(arg)
            if len(words) == 2:
                break
    return words


def only_invoked(app, words: list[str]) -> bool:
    """Keep only the command being run: typer builds every registered command (options,
    converters, help) on each start, a millisecond each, for one to run. Nothing is
    removed, and False returned, when the words name no command (help, typos)."""
    from typer.main import get_command_name

    def named(typer_app, name: str) -> list:
        return [c for c in typer_app.registered_commands
                if (c.name or get_command_name(c.callback.__name__)) == name]

    if not words:
        return False
    commands = named(app, words[0])
    groups = [g for g in app.registered_groups if g.name == words[0]]
    if commands:
        app.registered_commands, app.registered_groups = commands, []
    elif groups:
        app.registered_commands, app.registered_groups = [], groups
        sub = groups[0].typer_instance
        if len(words) > 1 and named(sub, words[1]):
            sub.registered_commands = named(sub, words[1])
    return bool(commands or groups)


def _exit(code: int) -> None:
    """Exit without tearing the interpreter down: everything that must reach disk has
    (files are written atomically and closed), and teardown of the loaded libraries costs
    a fifth of a second per command."""
    if not timings.on() and timings_wanted(os.environ):
        timings.enable()  # a command that ended before its options were read
    lines = timings.report()
    for stream, text in ((sys.stdout, ""), (sys.stderr, "".join(f"{line}\n" for line in lines))):
        try:
            stream.write(text)
            stream.flush()
        except Exception:  # noqa: BLE001 - a closed pipe
            pass
    os._exit(code)
