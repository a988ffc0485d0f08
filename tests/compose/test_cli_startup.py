"""The CLI builds only the command it runs (typer builds every registered one)."""
import typer

import importlib

from compose.cli import ALL_MODULES, MODULES, invoked, only_invoked


def make_app():
    app = typer.Typer()
    sub = typer.Typer()
    app.add_typer(sub, name="container")

    @app.callback()
    def root(project: str = typer.Option(None, "-p")) -> None: ...

    @app.command("up")
    def up() -> None: ...

    @app.command("exec")
    def exec_() -> None: ...

    @sub.command("run")
    def run() -> None: ...

    @sub.command("ls")
    def ls() -> None: ...

    return app, sub


def names(app):
    return [c.name for c in app.registered_commands], [g.name for g in app.registered_groups]


def test_only_the_invoked_command_is_kept():
    app, sub = make_app()
    assert only_invoked(app, invoked(["-p", "proj", "--file", "x.yaml", "up", "-d", "web"]))
    assert names(app) == (["up"], [])
    app, sub = make_app()
    assert only_invoked(app, invoked(["container", "run", "--rm", "busybox"]))
    assert names(app) == ([], ["container"]) and [c.name for c in sub.registered_commands] == ["run"]


def test_nothing_removed_without_a_known_command():
    for argv in ([], ["--help"], ["-p", "up"], ["contianer", "run"]):
        app, sub = make_app()
        assert not only_invoked(app, invoked(argv))
        assert names(app) == (["up", "exec"], ["container"]), argv
        assert len(sub.registered_commands) == 2


def test_each_command_is_found_in_the_modules_imported_for_it():
    """main() imports only MODULES[word]: every command must be there."""
    from compose.cli.app import app

    for name in ALL_MODULES:
        importlib.import_module(f"compose.cli.{name}")
    def module(command) -> str:
        return command.callback.__module__.removeprefix("compose.cli.")

    for command in app.registered_commands:
        assert module(command) in MODULES[command.name], command.name
    for group in app.registered_groups:
        for command in group.typer_instance.registered_commands:
            assert module(command) in MODULES[group.name]
