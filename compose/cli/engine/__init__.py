"""The docker-like commands (`berth container`, `image`, `network`, `volume`, `login`,
`logout`): single containers, images, networks and volumes, through the runtime's public
facade (runtime.api) and nothing else of it."""
from __future__ import annotations

import os


def engine():
    """The runtime's containers API (and through it images and volumes) for BERTH_ROOT."""
    from runtime.api import engine as make

    return make(os.environ)


def networks():
    from runtime.api import networks as make

    return make(os.environ)


def registry():
    from runtime.api import registry as make

    return make(os.environ)


def single():
    """The compose backend, for what single containers share with services (attach,
    exec, logs): it takes container names and ids too."""
    from ...adapter import RuntimeBackend

    return RuntimeBackend(os.environ)


def attachment(ref: str, stdin: bool):
    """An attachment to a container's stdio, for compose.cli.terminal (without the compose
    backend: `container run` and `start -a` need nothing else of it)."""
    from ...adapter.attachment import FramedAttachment

    return FramedAttachment(engine().attach(ref, stdin=stdin))
