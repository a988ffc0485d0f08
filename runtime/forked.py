"""Work that must change this process's namespaces runs in a forked child instead:
the child does it and sends back its result (pickled) or its error."""
from __future__ import annotations

import os
import pickle
from typing import Any, Callable


class ChildError(Exception):
    """What went wrong in the child, as its message."""


def in_child(fn: Callable[[], Any]) -> Any:
    """fn() in a forked child; its return value, or ChildError with what it raised."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_fd)
            try:
                result = ("ok", fn())
            except BaseException as err:  # noqa: BLE001 - sent back, raised there
                result = ("error", str(err) or type(err).__name__)
            with os.fdopen(write_fd, "wb") as out:
                pickle.dump(result, out)
        finally:
            os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    if not data:
        raise ChildError("the child process died")
    status, value = pickle.loads(data)
    if status == "error":
        raise ChildError(value)
    return value
