"""`docker build`'s flags that need reading: --secret, --ssh, --add-host, --build-context."""
from __future__ import annotations

import os
import stat

import typer


def _fields(text: str) -> dict[str, str]:
    return dict(item.partition("=")[::2] for item in text.split(",") if item)


def parse_secret(text: str, environ: dict[str, str]) -> tuple[str, bytes]:
    """`id=NAME[,src=FILE | ,env=VAR][,type=file|env]`, as docker build takes it; with
    neither src nor env, the variable named NAME if it is set, else the file NAME."""
    fields = _fields(text)
    secret_id = fields.get("id", "")
    if not secret_id:
        raise typer.BadParameter(f"{text!r}: expected id=NAME,src=FILE or id=NAME,env=VAR",
                                 param_hint="--secret")
    source = fields.get("src") or fields.get("source")
    variable = fields.get("env")
    if fields.get("type") == "env" and not variable:
        variable, source = source or secret_id, None
    if not source and not variable:
        if secret_id in environ:
            variable = secret_id
        else:
            source = secret_id
    if variable:
        if variable not in environ:
            raise typer.BadParameter(f"secret {secret_id}: ${variable} is not set",
                                     param_hint="--secret")
        return secret_id, environ[variable].encode()
    try:
        with open(os.path.expanduser(source or ""), "rb") as handle:
            return secret_id, handle.read()
    except OSError as err:
        raise typer.BadParameter(f"secret {secret_id}: {source}: {err.strerror}",
                                 param_hint="--secret") from None


def parse_ssh(text: str, environ: dict[str, str]) -> tuple[str, str]:
    """`default` or `ID[=SOCKET]`: an ssh agent's socket ($SSH_AUTH_SOCK when none is
    given). berth forwards agents; a key file is added to one with ssh-add."""
    ssh_id, _, path = text.partition("=")
    path = path or environ.get("SSH_AUTH_SOCK", "")
    if not path:
        raise typer.BadParameter(f"{ssh_id}: no agent socket given and SSH_AUTH_SOCK is not set",
                                 param_hint="--ssh")
    try:
        is_socket = stat.S_ISSOCK(os.stat(path).st_mode)
    except OSError as err:
        raise typer.BadParameter(f"{ssh_id}: {path}: {err.strerror}", param_hint="--ssh") from None
    if not is_socket:
        raise typer.BadParameter(f"{ssh_id}: {path} is not an agent socket (berth forwards an "
                                 "ssh agent: start ssh-agent and ssh-add the key)",
                                 param_hint="--ssh")
    return ssh_id or "default", path


def parse_add_host(text: str) -> tuple[str, str]:
    """`name:address` (or name=address), as docker takes it."""
    name, sep, address = text.replace("=", ":", 1).partition(":")
    if not sep or not name or not address:
        raise typer.BadParameter(f"{text!r}: expected NAME:ADDRESS", param_hint="--add-host")
    return name, address


def parse_build_context(text: str) -> tuple[str, str]:
    """`name=DIR` or `name=docker-image://REF`."""
    name, sep, value = text.partition("=")
    if not sep or not name or not value:
        raise typer.BadParameter(f"{text!r}: expected NAME=DIR or NAME=docker-image://REF",
                                 param_hint="--build-context")
    if value.startswith("docker-image://"):
        return name, value
    if not os.path.isdir(value):
        raise typer.BadParameter(f"{name}: {value} is not a directory",
                                 param_hint="--build-context")
    return name, os.path.abspath(value)
