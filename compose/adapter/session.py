"""A user who is not root runs every command inside their rootless session
(runtime.rootless): the CLI joins it through here, before any command module loads."""
from __future__ import annotations

from typing import MutableMapping


def join_session(environ: MutableMapping[str, str], words: list[str]) -> list[str]:
    """Join (or start) the session the command `words` needs; warnings for the user."""
    from runtime.rootless.enter import enter

    return enter(environ, words)
