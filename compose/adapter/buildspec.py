"""From a service's `build:` section to the runtime's build options (part of the adapter)."""
from __future__ import annotations

import os

from runtime.images.buildspec import BuildOptions

from ..backend import BuildRequest
from ..labels import image_ref
from ..model import Project, Service


def build_options(project: Project, svc: Service, request: BuildRequest,
                  environ: dict[str, str]) -> BuildOptions:
    """`environ`: the caller's environment, for a --build-arg named without a value."""
    build = svc.build
    assert build is not None
    return BuildOptions(
        context=build.context, dockerfile=build.dockerfile or "Dockerfile",
        dockerfile_inline=build.dockerfile_inline,
        tags=[image_ref(project, svc)] + list(build.tags), args={**build.args, **request.args},
        target=build.target, no_cache=request.no_cache or build.no_cache,
        pull=request.pull or build.pull, labels={k: v or "" for k, v in build.labels.items()},
        network=build.network or "default",
        contexts={k: v for k, v in build.additional_contexts.items() if v and os.path.isdir(v)},
        environ={**project.environment, **environ})
