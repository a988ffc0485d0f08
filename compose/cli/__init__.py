"""The `berth` command line: the only place that prints or exits."""
from __future__ import annotations

import sys

from runtime.errors import BerthError

from ..errors import ComposeError


def main() -> None:
    sys.dont_write_bytecode = False  # berth's own modules are worth caching as bytecode
    from .app import app
    from . import config, containers, images, networks, project  # noqa: F401  (register commands)

    try:
        app()
    except (ComposeError, BerthError) as err:
        print(f"berth: {err}", file=sys.stderr)
        sys.exit(getattr(err, "exit_code", 1))
    except KeyboardInterrupt:
        sys.exit(130)
