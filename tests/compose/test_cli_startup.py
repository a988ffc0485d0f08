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


# --- what the fast commands load (bench/run.py prints their time) --------------------------

HEAVY = ("typer", "rich", "yaml", "networkx", "jsonschema", "pyroute2", "watchfiles", "dns",
         "zstandard", "ssl", "http.client", "runtime.monitor", "runtime.nsexec",
         "runtime.images.registry", "runtime.images.build", "compose.load", "compose.model")


def imported(tmp_path, *argv: str) -> tuple[str, set[str]]:
    """What `berth ARGV` prints and every module it imports (python -X importtime)."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, BERTH_ROOT=str(tmp_path / "root"),
               XDG_CACHE_HOME=str(tmp_path / "cache"))
    done = subprocess.run([sys.executable, "-X", "importtime", "-c",
                           "import sys; from compose.cli import main; sys.argv[0] = 'berth'; "
                           "main()", *argv], cwd=tmp_path, env=env, capture_output=True,
                          text=True, check=True)
    modules = {line.rpartition("|")[2].strip() for line in done.stderr.splitlines()
               if line.startswith("import time:")}
    return done.stdout, modules


def test_version_loads_neither_typer_nor_the_model_nor_the_runtime(tmp_path):
    out, modules = imported(tmp_path, "version")
    assert out.startswith("berth version ")
    assert not modules & set(HEAVY), modules & set(HEAVY)
    assert not {m for m in modules if m.startswith("runtime")}


def test_ps_of_a_cached_project_loads_no_parser_graph_schema_or_engine(tmp_path):
    """ps reads the project from the load cache and the containers' records: no YAML
    parser, schema, graph library, netlink, registry client or monitor code."""
    (tmp_path / "compose.yaml").write_text("services:\n  web: {image: busybox}\n")
    imported(tmp_path, "ps")  # fills the cache
    out, modules = imported(tmp_path, "ps")
    assert out.split() == ["NAME", "IMAGE", "COMMAND", "SERVICE", "STATUS", "PORTS"]
    heavy = set(HEAVY) - {"typer", "compose.model"}  # the CLI's parser; the project it shows
    assert not modules & heavy, modules & heavy


def test_the_docker_like_run_path_loads_no_compose_model():
    """`berth container run` (its command, the attachment, the terminal) is a runtime
    matter: no compose model, labels, YAML or typer-free shortcut lost on the way."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-X", "importtime", "-c",
                           "import compose.cli.engine.container, compose.adapter.attachment, "
                           "compose.cli.terminal"], capture_output=True, text=True, check=True)
    modules = {line.rpartition("|")[2].strip() for line in done.stderr.splitlines()}
    assert not modules & {"compose.model", "compose.labels", "compose.adapter.runtime_backend",
                          "yaml", "networkx", "jsonschema", "runtime.images.registry"}
