"""`build --check`: a service's Dockerfile parsed by berth's builder and checked against
some of BuildKit's build checks (named as BuildKit names them); nothing is built."""
from __future__ import annotations

import os
import re

from runtime.images.dockerfile import DockerfileError, parse

from ..errors import ComposeError
from ..model import Project, Service

_SECRET = re.compile(r"(?i)(?:_|^)(?:apikey|auth|credential|credentials|key|password|pword|"
                     r"passwd|secret|token)(?:_|$)")


def _text(svc: Service) -> tuple[str, str]:
    build = svc.build
    assert build is not None
    if build.dockerfile_inline is not None:
        return build.dockerfile_inline, "Dockerfile"
    path = os.path.join(build.context, build.dockerfile)
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read(), os.path.basename(path)
    except OSError as err:
        raise ComposeError(f"service {svc.name!r}: cannot read {path}: {err.strerror}") from None


def check_build(project: Project, svc: Service) -> list[str]:
    """The service's Dockerfile's warnings, as `FILE:LINE: Rule: what`; a Dockerfile
    berth can not build is an error."""
    text, name = _text(svc)
    try:
        dockerfile = parse(text, name)
    except DockerfileError as err:
        raise ComposeError(f"service {svc.name!r}: {err}") from None
    found: list[tuple[int, str, str]] = []
    seen: set[str] = set()
    for stage in dockerfile.stages:
        original = next((i for i in text.splitlines()[stage.line - 1:stage.line]), "")
        words = original.split()
        if len(words) >= 4 and words[0].isupper() != words[-2].isupper():
            found.append((stage.line, "FromAsCasing",
                          f"'{words[-2]}' and '{words[0]}' keywords' casing do not match"))
        if stage.name and stage.name in seen:
            found.append((stage.line, "DuplicateStageName", f"duplicate stage name {stage.name!r}"))
        if stage.name:
            seen.add(stage.name)
        for instr in stage.instructions:
            if instr.keyword == "MAINTAINER":
                found.append((instr.line, "MaintainerDeprecated",
                              "Maintainer instruction is deprecated in favor of using label"))
            if instr.keyword in ("CMD", "ENTRYPOINT") and instr.args and \
                    instr.json_args() is None:
                found.append((instr.line, "JSONArgsRecommended",
                              f"JSON arguments recommended for {instr.keyword} to prevent "
                              "unintended behavior related to OS signals"))
            if instr.keyword in ("ARG", "ENV"):
                key = re.split(r"[= ]", instr.args.strip(), maxsplit=1)[0]
                if _SECRET.search(key):
                    found.append((instr.line, "SecretsUsedInArgOrEnv",
                                  f"Do not use ARG or ENV instructions for sensitive data "
                                  f"({instr.keyword} {key!r})"))
            if instr.keyword == "WORKDIR" and not instr.args.startswith(("/", "$")):
                found.append((instr.line, "WorkdirRelativePath",
                              f"Relative workdir {instr.args!r} can have unexpected results "
                              "if the base image changes"))
    return [f"{name}:{line}: {rule}: {what}" for line, rule, what in sorted(found)]
