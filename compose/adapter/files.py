"""A container's secrets and configs: files written for it alone, owned and moded as the
service asks (`uid`, `gid`, `mode`; root's and 0444 by default), bound read-only at their
targets. Never a bind of the source itself: its owner and mode on the host would show
through, and `uid`/`gid`/`mode` could not be honoured (docker/compose#9648, #13287).

They live under the project's run directory, in one directory per container, root's
alone; `remove` takes them away with the container."""
from __future__ import annotations

import hashlib
import os
import shutil

from runtime.fsutil import atomic_write, make_dir
from runtime.spec import Mount

from ..errors import ComposeError
from ..model import FileGrant, FileObject, Project, Service

DEFAULT_MODE = 0o444
KINDS = ("secrets", "configs")


def _content(project: Project, svc: Service, kind: str, grant: FileGrant,
             obj: FileObject) -> bytes:
    what = f"service {svc.name!r}: {kind[:-1]} {grant.source!r}"
    if obj.file:
        try:
            with open(obj.file, "rb") as handle:
                return handle.read()
        except FileNotFoundError:
            raise ComposeError(f"{what} file {obj.file} does not exist") from None
        except OSError as err:
            raise ComposeError(f"{what}: cannot read {obj.file}: {err.strerror}") from None
    if obj.content is not None:
        return obj.content.encode()
    if obj.environment and obj.environment not in project.environment:
        raise ComposeError(f"{what}: environment variable {obj.environment} is not set")
    return project.environment.get(obj.environment or "", "").encode()


def _id(value: str | None, what: str) -> int:
    if value is None or value == "":
        return 0
    if not str(value).isdigit():
        raise ComposeError(f"{what} must be a number, not {value!r}")
    return int(value)


def container_dir(runtime_dir: str, kind: str, container: str) -> str:
    return os.path.join(runtime_dir, kind, container)


def file_mounts(project: Project, svc: Service, container: str, runtime_dir: str) -> list[Mount]:
    """Write container `container`'s secrets and configs; their read-only mounts."""
    mounts = []
    for kind, grants, known in (("secrets", svc.secrets, project.secrets),
                                ("configs", svc.configs, project.configs)):
        if not grants:
            continue
        directory = container_dir(runtime_dir, kind, container)
        make_dir(directory, 0o700)
        for grant in grants:
            obj = known[grant.source]
            if obj.external:
                raise ComposeError(f"service {svc.name!r}: external {kind[:-1]} "
                                   f"{grant.source!r} is a swarm object; berth has none")
            what = f"service {svc.name!r}: {kind[:-1]} {grant.source!r}"
            uid, gid = _id(grant.uid, f"{what} uid"), _id(grant.gid, f"{what} gid")
            path = os.path.join(directory, hashlib.sha256(grant.target.encode()).hexdigest()[:16])
            atomic_write(path, _content(project, svc, kind, grant, obj),
                         DEFAULT_MODE if grant.mode is None else grant.mode)
            os.chown(path, uid, gid)
            mounts.append(Mount(type="bind", source=path, target=grant.target, read_only=True))
    return mounts


def remove_files(runtime_dir: str, container: str) -> None:
    """Take away what file_mounts wrote for `container`."""
    for kind in KINDS:
        shutil.rmtree(container_dir(runtime_dir, kind, container), ignore_errors=True)
