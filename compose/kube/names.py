"""Kubernetes names from compose names: valid, stable, and an error when impossible.

Object names are DNS-1123 labels (at most 63 characters of a-z, 0-9 and '-', starting
and ending with a letter or digit); a Service's name must also start with a letter
(DNS-1035), and it is the name other pods reach a service by, as on berth's networks.
A name too long is cut and given a hash of the whole, so it stays stable and distinct.
"""
from __future__ import annotations

import hashlib
import re

from ..errors import ComposeError

MAX_LABEL = 63
DNS_1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS_1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
DNS_1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
_INVALID = re.compile(r"[^a-z0-9-]+")


def label(*parts: str) -> str | None:
    """A DNS-1123 label from `parts` joined by '-' (lowercased, other characters made
    '-'), or None when nothing valid is left."""
    text = "-".join(parts)
    cleaned = _INVALID.sub("-", text.lower()).strip("-")
    if not cleaned:
        return None
    if len(cleaned) > MAX_LABEL:
        digest = hashlib.sha256(text.encode()).hexdigest()[:8]
        cleaned = cleaned[:MAX_LABEL - 9].rstrip("-") + "-" + digest
    return cleaned


def required_label(what: str, *parts: str) -> str:
    """`label(*parts)`, or an error naming `what` when nothing valid is left."""
    name = label(*parts)
    if name is None:
        raise ComposeError(f"{what}: no valid Kubernetes name can be made of "
                           f"{'-'.join(parts)!r}")
    return name


def service_name(service: str) -> str:
    """The name of a compose service's workload and Service: a DNS-1035 label."""
    name = label(service)
    if name is None or not DNS_1035_LABEL.match(name):
        raise ComposeError(f"service {service!r}: its name cannot be made a Kubernetes "
                           "Service name (a DNS label starting with a letter: a-z, 0-9, '-')")
    return name


def dns_name(name: str) -> str | None:
    """`name` when it is already a DNS-1035 label (a hostname a Service can answer to)."""
    lowered = name.lower()
    return lowered if len(lowered) <= MAX_LABEL and DNS_1035_LABEL.match(lowered) else None


def is_subdomain(name: str) -> bool:
    return len(name) <= 253 and bool(DNS_1123_SUBDOMAIN.match(name))


def is_label_key(key: str) -> bool:
    prefix, _, name = key.rpartition("/")
    return bool(_LABEL_NAME.match(name)) and len(name) <= MAX_LABEL and \
        (not prefix or is_subdomain(prefix))


def is_label_value(value: str) -> bool:
    return value == "" or (len(value) <= MAX_LABEL and bool(_LABEL_NAME.match(value)))


def config_key(text: str) -> str:
    """A ConfigMap or Secret key (a-z, A-Z, 0-9, '-', '_', '.') made of `text`."""
    key = re.sub(r"[^-._a-zA-Z0-9]+", "_", text).strip("_") or "file"
    return "file" + key if key in (".", "..") else key


def is_config_key(key: str) -> bool:
    return len(key) <= 253 and bool(_CONFIG_KEY.match(key)) and key not in (".", "..")
