"""A container's attachment (runtime.client's) with its frames named as compose.backend
names them; light enough for `berth container run` to attach without the compose model."""
from __future__ import annotations

from typing import Iterator

from runtime import client
from runtime.protocol import ERROR, EXIT, STDERR, STDOUT

from .. import backend as seam

_FRAMES = {STDOUT: seam.STDOUT, STDERR: seam.STDERR, ERROR: seam.ERROR, EXIT: seam.EXIT}


class FramedAttachment:
    """The runtime's attachment, its frames named as compose.backend names them."""

    def __init__(self, inner: client.Attachment) -> None:
        self.inner = inner

    def fileno(self) -> int:
        return self.inner.fileno()

    def send(self, data: bytes) -> None:
        self.inner.send(data)

    def close_stdin(self) -> None:
        self.inner.close_stdin()

    def resize(self, rows: int, cols: int) -> None:
        self.inner.resize(rows, cols)

    def has_frames(self) -> bool:
        return self.inner.has_frames()

    def read_frames(self) -> Iterator[tuple[str, bytes]]:
        for kind, payload in self.inner.read_frames():
            if kind in _FRAMES:
                yield _FRAMES[kind], payload

    def close(self) -> None:
        self.inner.close()
