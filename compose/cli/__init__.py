"""The `berth` command line: the only place that prints or exits."""
from __future__ import annotations

import os
import sys

from runtime.errors import BerthError

from ..errors import ComposeError


def main() -> None:
    sys.dont_write_bytecode = False  # berth's own modules are worth caching as bytecode
    from .app import app
    from . import build, config, containers, images, networks, project, registry, watch  # noqa: F401

    code = 0
    try:
        app()
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except (ComposeError, BerthError) as err:
        print(f"berth: {err}", file=sys.stderr)
        code = getattr(err, "exit_code", 1)
    except KeyboardInterrupt:
        code = 130
    _exit(code)


def _exit(code: int) -> None:
    """Exit without tearing the interpreter down: everything that must reach disk has
    (files are written atomically and closed), and teardown of the loaded libraries costs
    a fifth of a second per command."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001 - a closed pipe
            pass
    os._exit(code)
