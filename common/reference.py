"""Image references, normalized like docker: `busybox` = `docker.io/library/busybox:latest`."""
from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import BerthError

DEFAULT_DOMAIN = "docker.io"
_PATH_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}$")


class ReferenceError(BerthError, ValueError):
    """Not a valid image reference."""


@dataclass(frozen=True)
class Reference:
    domain: str
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def repository(self) -> str:
        return f"{self.domain}/{self.path}"

    def __str__(self) -> str:
        out = self.repository
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out

    def familiar(self) -> str:
        """The short form docker prints: `busybox:latest`, `me/app:1`, `localhost:5000/x:y`."""
        name = self.repository
        if self.domain == DEFAULT_DOMAIN:
            name = self.path[len("library/"):] if self.path.startswith("library/") else self.path
        if self.tag:
            name += f":{self.tag}"
        if self.digest:
            name += f"@{self.digest}"
        return name


def parse(text: str) -> Reference:
    """Parse and normalize a reference; the tag defaults to `latest` unless a digest is given."""
    original = text
    digest = None
    if "@" in text:
        text, digest = text.split("@", 1)
        if not _DIGEST.match(digest):
            raise ReferenceError(f"invalid digest in image reference {original!r}")
    tag = None
    slash = text.rfind("/")
    colon = text.rfind(":")
    if colon > slash:
        text, tag = text[:colon], text[colon + 1:]
        if not _TAG.match(tag):
            raise ReferenceError(f"invalid tag {tag!r} in image reference {original!r}")
    if not text:
        raise ReferenceError(f"invalid image reference {original!r}")
    first, _, rest = text.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        domain, path = first, rest
    else:
        domain, path = DEFAULT_DOMAIN, text
    if domain == "index.docker.io":
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in path:
        path = f"library/{path}"
    if any(not _PATH_COMPONENT.match(comp) for comp in path.split("/")):
        raise ReferenceError(f"invalid image reference {original!r}: repository names must be "
                             "lowercase letters, digits and separators")
    if tag is None and digest is None:
        tag = "latest"
    return Reference(domain, path, tag, digest)
