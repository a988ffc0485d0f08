"""From a service's `build:` section to the runtime's build options (part of the adapter)."""
from __future__ import annotations

import os

from runtime.images import platforms
from runtime.images.buildspec import BuildOptions

from ..backend import BuildRequest
from ..errors import ComposeError
from ..labels import image_ref
from ..model import Build, Project, Service


def build_options(project: Project, svc: Service, request: BuildRequest,
                  environ: dict[str, str]) -> BuildOptions:
    """`environ`: the caller's environment, for a --build-arg named without a value and
    for ssh's default agent ($SSH_AUTH_SOCK)."""
    build = svc.build
    assert build is not None
    env = {**project.environment, **environ}
    allow = list(build.entitlements) + (["security.insecure"] if build.privileged else [])
    return BuildOptions(
        context=build.context, dockerfile=build.dockerfile or "Dockerfile",
        dockerfile_inline=build.dockerfile_inline,
        tags=[image_ref(project, svc)] + list(build.tags), args={**build.args, **request.args},
        target=build.target, no_cache=request.no_cache or build.no_cache,
        pull=request.pull or build.pull, labels={k: v or "" for k, v in build.labels.items()},
        network=build.network or "default", contexts=_contexts(project, build),
        environ=env, platform=_platform(svc), secrets=_secrets(project, svc, env),
        ssh=_ssh(svc, env), allow=allow,
        add_hosts=[(host, ip) for host, ips in build.extra_hosts.items() for ip in ips],
        shm_size=build.shm_size,
        ulimits={k: [u.soft, u.hard] for k, u in build.ulimits.items()},
        cache_from=[c for c in build.cache_from if _local(c)],
        cache_to=next((c for c in build.cache_to if _local(c)), None))


def _local(cache: str) -> bool:
    """A local cache (type=local,src|dest=DIR): the only kind berth reads and writes; a
    registry cache is left to the registry builds that can use it."""
    return "type=local" in cache.split(",")


def _contexts(project: Project, build: Build) -> dict[str, str]:
    """Named contexts: directories, docker-image://REF, and service:NAME (that
    service's image)."""
    out = {}
    for name, value in build.additional_contexts.items():
        if not value:
            continue
        if value.startswith("service:"):
            other = project.services.get(value.removeprefix("service:"))
            if other is None:
                raise ComposeError(f"additional_contexts {name!r}: no service "
                                   f"{value.removeprefix('service:')!r}")
            out[name] = "docker-image://" + image_ref(project, other)
        elif value.startswith("docker-image://") or os.path.isdir(value):
            out[name] = value
    return out


def _platform(svc: Service) -> str | None:
    """The one platform berth builds: the service's, else the host's if `platforms`
    lists it, else the first listed."""
    build = svc.build
    assert build is not None
    if svc.platform:
        return svc.platform
    if not build.platforms:
        return None
    host = platforms.host()
    for text in build.platforms:
        if platforms.parse(text) == host:
            return text
    return build.platforms[0]


def _secrets(project: Project, svc: Service, env: dict[str, str]) -> dict[str, bytes]:
    """Each build secret by the id a Dockerfile asks for (its target, else its name)."""
    build = svc.build
    assert build is not None
    out = {}
    for grant in build.secrets:
        obj = project.secrets.get(grant.source)
        if obj is None:
            raise ComposeError(f"service {svc.name!r}: build secret {grant.source!r} is not "
                               "defined in the top-level secrets")
        if obj.file:
            try:
                with open(obj.file, "rb") as handle:
                    value = handle.read()
            except OSError as err:
                raise ComposeError(f"service {svc.name!r}: build secret {grant.source!r}: "
                                   f"{obj.file}: {err.strerror}") from None
        elif obj.content is not None:
            value = obj.content.encode()
        else:
            value = env.get(obj.environment or "", "").encode()
        out[grant.target.removeprefix("/run/secrets/")] = value
    return out


def _ssh(svc: Service, env: dict[str, str]) -> dict[str, str]:
    build = svc.build
    assert build is not None
    out = {}
    for key, socket in build.ssh.items():
        path = socket or env.get("SSH_AUTH_SOCK")
        if not path:
            raise ComposeError(f"service {svc.name!r}: build ssh {key!r}: no agent socket "
                               "(set SSH_AUTH_SOCK or give a path)")
        out[key] = path
    return out
