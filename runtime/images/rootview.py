"""Look at an image's merged filesystem without a container: the layers are mounted
read-only in a private mount namespace of a forked child, which runs a function there
and sends back its (pickled) result. Nothing is mounted in the caller's namespace."""
from __future__ import annotations

import os
import tempfile
from typing import Any, Callable

from ..errors import BerthError
from ..forked import ChildError, in_child
from ..syscalls import (CLONE_NEWNS, MNT_DETACH, MS_PRIVATE, MS_RDONLY, MS_REC, SYSCALLS,
                        Syscalls)


class ViewError(BerthError):
    pass


def with_root(layer_dirs: list[str], fn: Callable[[str], Any],
              sys: Syscalls = SYSCALLS) -> Any:
    """fn(root) with root the merged view of `layer_dirs` (bottom first); its result."""
    if not layer_dirs:
        with tempfile.TemporaryDirectory(prefix="berth-empty-") as empty:
            return fn(empty)
    if len(layer_dirs) == 1:
        return fn(layer_dirs[0])

    def mounted() -> Any:
        sys.unshare(CLONE_NEWNS)
        sys.mount(None, "/", None, MS_REC | MS_PRIVATE)
        target = tempfile.mkdtemp(prefix="berth-view-")
        try:
            base = os.path.dirname(layer_dirs[0])  # short names keep the options short
            lowers = ":".join(os.path.basename(d) if os.path.dirname(d) == base else d
                              for d in reversed(layer_dirs))
            os.chdir(base)
            sys.mount("overlay", target, "overlay", MS_RDONLY, f"lowerdir={lowers}")
            try:
                return fn(target)
            finally:
                sys.umount(target, MNT_DETACH)
        finally:
            os.rmdir(target)

    try:
        return in_child(mounted)
    except ChildError as err:
        raise ViewError(str(err)) from None
