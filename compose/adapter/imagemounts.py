"""`type: image` mounts: an image's files, read-only.

An image of one layer is that layer's directory (unpacked once, shared). One of several
layers is an overlay of them with no upper directory (read-only by nature), mounted once
per image under the run directory (compose/images/<id>) and shared by every container
that mounts the image; each container binds it (or its `subpath`) read-only into its own
mount namespace, and the shared mount goes when the last container using it does."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from runtime.fsutil import locked, make_dir
from runtime.syscalls import MNT_DETACH, MS_NODEV, MS_RDONLY, SYSCALLS

from ..errors import ComposeError

_MAX_OPTIONS = 4000  # mount(2) takes at most a page of options


class ImageMounts:
    def __init__(self, images, run: Path) -> None:
        self.images = images  # runtime.images.store.ImageStore
        self.base = run / "compose" / "images"
        self.lock = run / "locks" / "compose-image-mounts.lock"

    def root(self, ref: str) -> str:
        """The directory holding image `ref`'s files (mounted if it takes a mount)."""
        from runtime.images.store import ImageNotFound

        try:
            image = self.images.get(ref)
        except ImageNotFound:
            raise ComposeError(f"image {ref} (a volume of type image) is not present") from None
        layers = self.images.layer_dirs(image)
        if not layers:
            raise ComposeError(f"image {ref} has no files to mount")
        if len(layers) == 1:
            return layers[0]
        target = self.base / image.id.split(":")[-1][:32]
        options = "lowerdir=" + ":".join(reversed(layers))  # the top layer first
        if len(options) > _MAX_OPTIONS:
            raise ComposeError(f"image {ref} has too many layers ({len(layers)}) to mount")
        with locked(self.lock):
            if not os.path.ismount(target):
                make_dir(target, 0o700)
                SYSCALLS.mount("overlay", str(target), "overlay", MS_RDONLY | MS_NODEV, options)
        return str(target)

    def any(self) -> bool:
        """Whether any image is mounted here."""
        return self.base.is_dir() and any(self.base.iterdir())

    def release(self, in_use: Iterable[str]) -> None:
        """Unmount the shared image mounts that no container's mount `in_use` (their
        sources) is from any more."""
        if not self.base.is_dir():
            return
        used = {str(Path(source)) for source in in_use}
        with locked(self.lock):
            for entry in self.base.iterdir():
                if str(entry) in used or not os.path.ismount(entry):
                    continue
                SYSCALLS.umount(str(entry), MNT_DETACH)
                entry.rmdir()
