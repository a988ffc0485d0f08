"""Look at an image's merged filesystem without a container: the layers are mounted
read-only in a private mount namespace of a forked child, which runs a function there
and sends back its (pickled) result. Nothing is mounted in the caller's namespace."""
from __future__ import annotations

import os
import pickle
import tempfile
from typing import Any, Callable

from ..errors import BerthError
from ..syscalls import CLONE_NEWNS, MS_PRIVATE, MS_RDONLY, MS_REC, SYSCALLS


class ViewError(BerthError):
    pass


def with_root(layer_dirs: list[str], fn: Callable[[str], Any]) -> Any:
    """fn(root) with root the merged view of `layer_dirs` (bottom first); its result."""
    if not layer_dirs:
        with tempfile.TemporaryDirectory(prefix="berth-empty-") as empty:
            return fn(empty)
    if len(layer_dirs) == 1:
        return fn(layer_dirs[0])
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(read_fd)
            SYSCALLS.unshare(CLONE_NEWNS)
            SYSCALLS.mount(None, "/", None, MS_REC | MS_PRIVATE)
            target = tempfile.mkdtemp(prefix="berth-view-")
            lowers = ":".join(os.path.basename(d) for d in reversed(layer_dirs))
            os.chdir(os.path.dirname(layer_dirs[0]))
            SYSCALLS.mount("overlay", target, "overlay", MS_RDONLY, f"lowerdir={lowers}")
            try:
                result = ("ok", fn(target))
            except BaseException as err:  # noqa: BLE001 - sent back and raised there
                result = ("error", str(err))
            with os.fdopen(write_fd, "wb") as out:
                pickle.dump(result, out)
            SYSCALLS.umount(target, 2)
            os.rmdir(target)
            code = 0
        finally:
            os._exit(code)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    if not data:
        raise ViewError("could not read the image's filesystem")
    status, value = pickle.loads(data)
    if status == "error":
        raise ViewError(value)
    return value
