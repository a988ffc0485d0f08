"""The `berth` command line: the only place that prints or exits."""
from __future__ import annotations

import sys

from ..errors import ComposeError


def main() -> None:
    from .app import app
    from . import config  # noqa: F401  (registers commands)

    try:
        app()
    except ComposeError as err:
        print(f"berth: {err}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
