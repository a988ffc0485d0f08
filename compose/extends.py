"""Resolve `extends`: a service built on another one, in the same file or another file.

The base service is resolved first (extends nest), then the extending service is
merged onto it with the usual merge rules. Services from other files come with
their relative paths already resolved against that file's directory.
"""
from __future__ import annotations

from typing import Callable

from .errors import ComposeError
from .merge import merge
from .tags import Override, Reset

# file path -> that file's long-form services (paths resolved)
ServicesOf = Callable[[str], dict]


def resolve_extends(services: dict, file: str, services_of: ServicesOf) -> dict:
    """Return `services` with every `extends` applied."""
    resolved: dict[tuple[str, str], dict] = {}
    return {name: _resolve(file, name, svc, services, services_of, resolved, ())
            for name, svc in services.items()}


def _resolve(file: str, name: str, svc, services: dict, services_of: ServicesOf,
             resolved: dict, chain: tuple) -> dict:
    if isinstance(svc, Reset):
        return svc
    plain = svc.value if isinstance(svc, Override) else svc
    if not isinstance(plain, dict) or "extends" not in plain:
        return svc
    key = (file, name)
    if key in resolved:
        return resolved[key]
    if key in chain:
        names = " -> ".join(n for _, n in chain + (key,))
        raise ComposeError(f"circular extends: {names}", path=("services", name, "extends"))
    ext = plain["extends"]
    if isinstance(ext, str):
        ext = {"service": ext}
    base_file = ext.get("file", file)
    if base_file == file:
        base_services = services
    else:
        base_services = services_of(base_file)
    base_name = ext["service"]
    if base_name not in base_services:
        where = "" if base_file == file else f" in {base_file}"
        raise ComposeError(f"service {name!r} extends undefined service {base_name!r}{where}",
                           path=("services", name, "extends"))
    base = _resolve(base_file, base_name, base_services[base_name], base_services, services_of,
                    resolved, chain + (key,))
    if isinstance(base, Override):
        base = base.value
    own = {k: v for k, v in plain.items() if k != "extends"}
    result = merge(dict(base or {}), own, ("services", name))
    resolved[key] = result
    return result
