"""What a conversion reads besides the loaded project (and the service keys as the files
wrote them, compose.load.written_services): the files on this machine that bind mounts,
configs and secrets name."""
from __future__ import annotations

import os
import stat

from .model import HostFile
from .storage import MAX_CONFIGMAP


def read_host(path: str) -> HostFile:
    """A path on this machine, as a conversion may use it."""
    try:
        st = os.stat(path)
        if stat.S_ISDIR(st.st_mode):
            return HostFile("dir")
        if not stat.S_ISREG(st.st_mode):
            return HostFile("other")
        with open(path, "rb") as handle:  # no more than a ConfigMap takes, and one byte
            return HostFile("file", handle.read(MAX_CONFIGMAP + 1))
    except FileNotFoundError:
        return HostFile("missing")
    except OSError:
        return HostFile("other")
