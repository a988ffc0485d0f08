"""`berth build`: images from Dockerfiles, with berth's own containers for RUN.

Each stage starts from an image (pulled if missing), `scratch`, or an earlier stage;
only the stages the target needs are built. Instructions that change only the image
config change only the config; RUN runs in a berth container and its changes (the
container's overlay upper directory) become a layer (runtime.images.buildrun); COPY and
ADD write a layer straight from their sources (runtime.images.buildcopy). Every step has
a cache key chained from its parent, the instruction, the values it sees and the
content it copies (runtime.images.buildcache), so an unchanged rebuild only checks keys,
and a change re-runs from the first changed step on.
"""
from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import secrets
import tarfile
import time
from dataclasses import dataclass, field
from typing import Callable

from common.patterns import Ignore

from ..errors import BerthError
from ..securejoin import secure_join
from . import imageconfig, platforms
from .buildcache import StepCache, parse_cache_option
from .buildcopy import copy_step, owner
from .buildrun import run_step
from .buildspec import BuildError, BuildOptions
from .cachemounts import CacheMounts
from .copyplan import dir_info
from .dockerfile import DockerfileError, Instruction, Stage, parse
from .rootview import with_root
from .runmounts import MountError, check_mount
from .shellwords import WordError, split_raw, word
from .store import MEDIA_LAYER, Image, ImageNotFound

_CONFIG_ONLY = {"CMD", "ENTRYPOINT", "ENV", "LABEL", "EXPOSE", "VOLUME", "USER", "STOPSIGNAL",
                "SHELL", "HEALTHCHECK", "ONBUILD", "MAINTAINER"}
_MOUNT_FROM = re.compile(r"(?:^|,)\s*from=([^,]+)")


@dataclass
class State:
    """A stage being built."""

    config: dict
    layers: list[dict]
    diff_ids: list[str]
    key: str
    args: dict[str, str] = field(default_factory=dict)
    platform: platforms.Platform = field(default_factory=platforms.host)
    cmd_set: bool = False  # this stage set CMD (an ENTRYPOINT then keeps it)
    no_cache: bool = False

    def image(self) -> Image:
        cfg = dict(self.config, rootfs={"type": "layers", "diff_ids": list(self.diff_ids)})
        return Image(id="sha256:" + self.key, manifest_digest="", refs=(), config=cfg,
                     manifest={"layers": list(self.layers)}, added=0)

    @property
    def env(self) -> dict[str, str]:
        return imageconfig.env_dict(self.config)

    def values(self) -> dict[str, str]:
        """What ${VAR} sees: build args in scope, overridden by ENV."""
        return {**self.args, **self.env}

    def step(self, key: str) -> "State":
        """The state after a step with cache key `key` (its config still shared)."""
        return State(self.config, self.layers, self.diff_ids, key, self.args, self.platform,
                     self.cmd_set, self.no_cache)

    def reuse(self, entry: dict) -> "State":
        """The cached result of the step: its config and its layer."""
        self.config = entry["config"]
        if entry.get("layer"):
            self.layers = self.layers + [entry["layer"]]
            self.diff_ids = self.diff_ids + [entry["diff_id"]]
        return self


def _h(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


class Builder:
    def __init__(self, containers, pull: Callable[[str, str | None], Image] | None = None,
                 output: Callable[[str], None] = print) -> None:
        self.containers = containers
        self.store = containers.images
        self.pull = pull
        self.out = output
        self.cache_mounts = CacheMounts(self.store.root / "build-mounts")

    # --- entry point -------------------------------------------------------------------

    def build(self, opts: BuildOptions) -> Image:
        """Build, with RUN steps on a network of the build's own (see run_network)."""
        self.build_network: str | None = None
        try:
            return self._build(opts)
        finally:
            if self.build_network:
                from ..network.api import Networks

                try:
                    Networks(self.containers.paths).remove(self.build_network)
                except BerthError:
                    pass  # the next build removes it (see run_network); the build's own
                    # result or error is what matters here

    def _build(self, opts: BuildOptions) -> Image:
        started = time.monotonic()
        self.opts = opts
        self.context = os.path.realpath(opts.context)
        if not os.path.isdir(self.context):
            raise BuildError(f"build context {opts.context} is not a directory")
        text, self.file = self._dockerfile(opts)
        self.ignore = self._ignore()
        try:
            df = parse(text, self.file)
            self.target_platform = platforms.parse(opts.platform) if opts.platform else \
                platforms.host()
        except (DockerfileError, platforms.PlatformError) as err:
            raise BuildError(str(err)) from None
        self.escape = df.escape
        self.cache = StepCache(self.store, [parse_cache_option(c, "src") for c in opts.cache_from],
                               parse_cache_option(opts.cache_to, "dest") if opts.cache_to else None)
        self.platform_args = platforms.build_args(platforms.host(), self.target_platform)
        last = len(df.stages) - 1
        if opts.target:
            names = [s.name for s in df.stages]
            if opts.target.lower() not in names:
                raise BuildError(f"target stage {opts.target!r} not found in {self.file}")
            last = names.index(opts.target.lower())
        needed = _needed(df.stages, last)
        self.total = sum(1 + len(df.stages[i].instructions) for i in needed)
        self.step = 0
        self.global_args = dict(self.platform_args)  # automatic in the global scope
        for instr in df.global_args:
            for name, value in self._arg(instr, self.global_args):
                if value is not None:
                    self.global_args[name] = value
        self._check([df.stages[i] for i in needed])
        self.stages: dict[str, State] = {}
        state = None
        for index in needed:
            stage = df.stages[index]
            state = self._from(stage)
            for instr in stage.instructions:
                state = self._instruction(state, instr)
            self.stages[str(index)] = state
            if stage.name:
                self.stages[stage.name] = state
        assert state is not None
        for output in opts.outputs:
            self._export(state, output)
        image = self._commit(state)
        self.cache.write_export()
        self.out(f"Successfully built {image.short_id} in {time.monotonic() - started:.2f}s")
        for tag in opts.tags:
            self.out(f"Successfully tagged {tag}")
        return image

    def _check(self, stages: list[Stage]) -> None:
        """What can be checked before anything runs: that RUN steps can run on their
        stage's platform, and RUN's mount types and options."""
        for stage in stages:
            platform = self._stage_platform(stage)
            if not platforms.runnable(platform) and \
                    any(i.keyword == "RUN" for i in stage.instructions):
                raise BuildError(f"{self.file}:{stage.line}: FROM: the stage runs {platform} "
                                 f"programs, which this machine ({platforms.host()}) cannot run "
                                 "(no binfmt_misc handler for it: install qemu-user-static)")
            for instr in stage.instructions:
                for text in instr.flags.get("mount", []):
                    try:
                        check_mount(text)
                    except MountError as err:
                        raise self.fail(instr, f"--mount: {err}") from None

    def _dockerfile(self, opts: BuildOptions) -> tuple[str, str]:
        if opts.dockerfile_inline is not None:
            return opts.dockerfile_inline, "Dockerfile (inline)"
        path = opts.dockerfile if os.path.isabs(opts.dockerfile) else \
            os.path.join(self.context, opts.dockerfile)
        try:
            with open(path, encoding="utf-8") as handle:
                return handle.read(), path
        except FileNotFoundError:
            raise BuildError(f"Dockerfile not found: {path}") from None

    def _ignore(self) -> Ignore:
        """`<Dockerfile>.dockerignore` beside the Dockerfile, else the context's."""
        beside = self.file + ".dockerignore"
        if os.path.isfile(beside):
            with open(beside) as handle:
                return Ignore(handle.read().splitlines())
        return Ignore.from_context(self.context)

    # --- helpers for the steps ---------------------------------------------------------

    def say(self, instr_text: str, cached: bool = False) -> None:
        self.step += 1
        self.out(f"[{self.step}/{self.total}] {instr_text}" + ("  CACHED" if cached else ""))

    def fail(self, instr: Instruction, message: str, code: int = 1) -> BuildError:
        return BuildError(f"{self.file}:{instr.line}: {instr.keyword}: {message}", code)

    def expand(self, text: str, values: dict[str, str], instr: Instruction,
               quotes: bool = True) -> str:
        """$VAR in one word of `instr` (quotes removed), or in a heredoc's text
        (quotes=False: only variables)."""
        try:
            return word(text, values, self.escape, quotes)
        except WordError as err:
            raise self.fail(instr, str(err)) from None

    @staticmethod
    def key(*parts: object) -> str:
        return _h(*parts)

    def owner(self, state: State, spec: str, instr: Instruction) -> tuple[int, int]:
        return owner(self, state, spec, instr)

    # --- stages ------------------------------------------------------------------------

    def _arg(self, instr: Instruction, scope: dict[str, str]) -> list[tuple[str, str | None]]:
        """Each NAME[=default] of an ARG, with its value: a --build-arg, else the
        default (expanded), else None (declared, unset)."""
        out = []
        for item in split_raw(instr.args, self.escape):
            name, has, default = item.partition("=")
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                raise self.fail(instr, f"invalid name {name!r}")
            value: str | None
            if name in self.opts.args:
                value = self.opts.args[name]
                if value is None:
                    value = self.opts.environ.get(name)
            elif has:
                value = self.expand(default, scope, instr)
            else:
                value = None
            out.append((name, value))
        return out

    def _base(self, name: str, line: int, platform: platforms.Platform) -> Image | None:
        if name == "scratch":
            return None
        wanted = None if platform == platforms.host() else str(platform)
        if self.opts.pull and self.pull:
            return self.pull(name, wanted)
        try:
            image = self.store.get(name)
            if wanted is None or _platform_of(image) == platform:
                return image
        except ImageNotFound:
            pass
        if self.pull is None:
            raise BuildError(f"{self.file}:{line}: FROM: image {name} not found"
                             + (f" for {platform}" if wanted else ""))
        try:
            return self.pull(name, wanted)
        except BerthError as err:
            raise BuildError(f"{self.file}:{line}: FROM {name}: {err}") from None

    def _from(self, stage: Stage) -> State:
        instr = Instruction("FROM", stage.base, stage.line)
        base_name = self.expand(stage.base, self.global_args, instr)
        base_name = self.opts.contexts.get(base_name, base_name).removeprefix("docker-image://")
        platform = self._stage_platform(stage)
        self.say(f"FROM {base_name}" + (f" AS {stage.name}" if stage.name else ""))
        no_cache = self.opts.no_cache or (stage.name or "") in self.opts.no_cache_filter
        if base_name.lower() in self.stages:
            parent = self.stages[base_name.lower()]
            state = State(copy.deepcopy(parent.config), list(parent.layers), list(parent.diff_ids),
                          parent.key, {}, parent.platform, no_cache=no_cache)
        else:
            image = self._base(base_name, stage.line, platform)
            if image is None:
                config = imageconfig.new_config()
                config["config"] = {"Env": [f"PATH={imageconfig.DEFAULT_PATH}"]}
                state = State(config, [], [], _h("scratch"), {}, platform, no_cache=no_cache)
            else:
                config = copy.deepcopy(image.config)
                config.setdefault("config", {})
                config.setdefault("history", [])
                state = State(config, list(image.layers), list(image.diff_ids),
                              _h("FROM", image.id), {}, platform, no_cache=no_cache)
        for trigger in state.config.get("config", {}).pop("OnBuild", None) or []:
            keyword, _, rest = trigger.partition(" ")
            state = self._instruction(state, Instruction(keyword.upper(), rest.strip(), stage.line,
                                                         original=f"ONBUILD {trigger}"))
        return state

    def _stage_platform(self, stage: Stage) -> platforms.Platform:
        """FROM --platform's (expanded with the global ARGs), else the build's target."""
        if not stage.platform:
            return self.target_platform
        instr = Instruction("FROM", stage.base, stage.line)
        try:
            return platforms.parse(self.expand(stage.platform, self.global_args, instr))
        except platforms.PlatformError as err:
            raise self.fail(instr, str(err)) from None

    # --- instructions ------------------------------------------------------------------

    def _instruction(self, state: State, instr: Instruction) -> State:
        keyword = instr.keyword
        if keyword == "ARG":
            state.args = dict(state.args)
            for name, value in self._arg(instr, state.values()):
                if value is None:
                    value = self.global_args.get(name)  # declared again: the global's value
                if value is not None:
                    state.args[name] = value
                state.key = _h(state.key, "ARG", name, value)
            self.say(f"ARG {instr.args.strip()}")
            return state
        if keyword == "WORKDIR":
            return self._workdir(state, instr)
        if keyword in _CONFIG_ONLY:
            return self._config_only(state, instr)
        if keyword == "RUN":
            return run_step(self, state, instr)
        if keyword in ("COPY", "ADD"):
            return copy_step(self, state, instr)
        raise self.fail(instr, "not supported")

    def _config_only(self, state: State, instr: Instruction) -> State:
        keyword, values = instr.keyword, state.values()
        key = _h(state.key, keyword, instr.args, values if keyword not in (
            "CMD", "ENTRYPOINT", "SHELL", "HEALTHCHECK", "ONBUILD") else None, state.cmd_set)
        entry = self.cache_get(key, state)
        state = state.step(key)
        state.config = copy.deepcopy(state.config)
        try:
            if keyword == "MAINTAINER":
                state.config["author"] = instr.args.strip()
            else:
                imageconfig.apply(state.config, keyword, instr.args, values, self.escape,
                                  cmd_set=state.cmd_set)
        except BerthError as err:
            raise self.fail(instr, str(err)) from None
        state.cmd_set = state.cmd_set or keyword == "CMD"
        shown = f"{keyword} {instr.args.strip()}"
        self.say(shown, cached=entry is not None)
        if entry is not None:
            return state.reuse(entry)
        return self.add_layer(state, key, None, f"/bin/sh -c #(nop)  {shown}")

    # --- WORKDIR -----------------------------------------------------------------------

    def _workdir(self, state: State, instr: Instruction) -> State:
        cfg = state.config.setdefault("config", {})
        path = os.path.normpath(os.path.join(cfg.get("WorkingDir") or "/",
                                             self.expand(instr.args.strip(), state.values(), instr)))
        user = cfg.get("User") or ""
        key = _h(state.key, "WORKDIR", path, user)
        entry = self.cache_get(key, state)
        self.say(f"WORKDIR {path}", cached=entry is not None)
        state = state.step(key)
        if entry is not None:
            return state.reuse(entry)
        state.config = copy.deepcopy(state.config)
        state.config["config"]["WorkingDir"] = path
        missing = self.missing_dirs(state, path)
        tar_path = None
        if missing:
            uid, gid = self.owner(state, user, instr) if user else (0, 0)
            tar_path = os.path.join(str(self.store.tmp), f"workdir-{key[:16]}.tar")
            with tarfile.open(tar_path, "w", format=tarfile.PAX_FORMAT) as tar:
                for directory in missing:
                    tar.addfile(dir_info(directory, uid, gid))
        return self.add_layer(state, key, tar_path, f"WORKDIR {path}")

    def missing_dirs(self, state: State, path: str) -> list[str]:
        """The directories along `path` (relative, outermost first) the image lacks."""
        parts = [p for p in path.split("/") if p]
        wanted = ["/".join(parts[:i + 1]) for i in range(len(parts))]
        layers = self.store.layer_dirs(state.image())

        def check(root: str) -> list[str]:
            return [d for d in wanted if not os.path.isdir(secure_join(root, d))]

        return with_root(layers, check)

    # --- other stages and images as sources --------------------------------------------

    def source_layers(self, name: str, instr: Instruction) -> list[str]:
        """The layers of a stage, a named context's image, or an image (COPY --from,
        RUN --mount from=)."""
        if name.lower() in self.stages:
            return self.store.layer_dirs(self.stages[name.lower()].image())
        ref = self.opts.contexts.get(name, name)
        if name in self.opts.contexts and not ref.startswith("docker-image://"):
            return [os.path.realpath(ref)]  # a directory
        ref = ref.removeprefix("docker-image://")
        image = self._base(ref, instr.line, platforms.host())
        return self.store.layer_dirs(image) if image else []

    def source_key(self, name: str) -> str:
        state = self.stages.get(name.lower())
        return state.key if state else name

    # --- the cache ---------------------------------------------------------------------

    def cache_get(self, key: str, state: State | None = None) -> dict | None:
        if self.opts.no_cache or (state is not None and state.no_cache):
            return None
        return self.cache.get(key)

    def add_layer(self, state: State, key: str, tar_path: str | None, created_by: str) -> State:
        """Append the layer in `tar_path` (None: no change) and remember the step."""
        if tar_path is not None:
            with open(tar_path, "rb") as handle:
                digest, size = self.store.put_stream(handle)
            diff_id = self.store.ensure_layer(digest)
            layer = {"mediaType": MEDIA_LAYER, "digest": digest, "size": size}
            state.layers = state.layers + [layer]
            state.diff_ids = state.diff_ids + [diff_id]
        entry = {"created": imageconfig.now_rfc3339(), "created_by": created_by}
        if tar_path is None:
            entry["empty_layer"] = True
        state.config.setdefault("history", []).append(entry)
        self.cache.put(key, state.layers[-1] if tar_path else None,
                       state.diff_ids[-1] if tar_path else None, state.config)
        return state

    def run_network(self) -> str:
        """Where RUN steps run: `default` is a bridge network made for this build (removed
        with it), isolated like a container's and with the same way out, so a build never
        sees the host's own services as `host` would (asked for with --network host)."""
        network = self.opts.network or "default"
        if network != "default":
            return network
        if self.build_network is None:
            from ..network.api import Networks
            from ..state import process_start_time

            networks = Networks(self.containers.paths)
            for net in networks.list({"berth.build": "1"}):  # left by builds killed midway
                pid, _, started = net.labels.get("berth.build.owner", "0:0").partition(":")
                if process_start_time(int(pid)) != int(started or 0):
                    try:
                        networks.remove(net.name)
                    except BerthError:
                        pass
            me = os.getpid()
            name = f"berth-build-{secrets.token_hex(6)}"
            networks.create(name, labels={"berth.build": "1",
                                          "berth.build.owner": f"{me}:{process_start_time(me)}"})
            self.build_network = name
        return self.build_network

    # --- the result --------------------------------------------------------------------

    def _commit(self, state: State) -> Image:
        config = copy.deepcopy(state.config)
        config["rootfs"] = {"type": "layers", "diff_ids": list(state.diff_ids)}
        history = config.get("history") or []
        # the time of the last step: a fully cached rebuild gives the very same image
        config["created"] = history[-1]["created"] if history else imageconfig.now_rfc3339()
        if self.opts.labels:
            config.setdefault("config", {}).setdefault("Labels", {}).update(self.opts.labels)
        config["architecture"] = state.platform.arch
        config["os"] = state.platform.os
        if state.platform.variant:
            config["variant"] = state.platform.variant
        return self.store.add(config, list(state.layers), [] if self.opts.outputs else
                              self.opts.tags)

    def _export(self, state: State, output: str) -> None:
        """-o type=local,dest=DIR (the files) or type=tar,dest=FILE (one tar of them)."""
        fields = dict(item.partition("=")[::2] for item in output.split(",") if item)
        kind = fields.get("type", "local" if "=" not in output else "")
        dest = fields.get("dest") or (output if "=" not in output else "")
        if kind not in ("local", "tar") or not dest:
            raise BuildError(f"--output {output!r}: use type=local,dest=DIR or type=tar,dest=FILE")
        from .unpack import unpack

        tar_path = dest if kind == "tar" else os.path.join(str(self.store.tmp),
                                                             f"export-{secrets.token_hex(6)}.tar")

        def write(root: str) -> None:
            with tarfile.open(tar_path, "w", format=tarfile.PAX_FORMAT) as tar:
                for name in sorted(os.listdir(root)):
                    tar.add(os.path.join(root, name), arcname=name)

        with_root(self.store.layer_dirs(state.image()), write)
        if kind == "local":
            try:
                os.makedirs(dest, exist_ok=True)
                with open(tar_path, "rb") as handle:
                    unpack(handle, dest)
            finally:
                os.unlink(tar_path)
        self.out(f"Exported the result to {dest}")


def _platform_of(image: Image) -> platforms.Platform:
    return platforms.Platform(image.config.get("os", "linux"),
                              image.config.get("architecture", ""),
                              image.config.get("variant", ""))


def _needed(stages: list[Stage], last: int) -> list[int]:
    """The stages the target (stage `last`) depends on, itself included, in order: by
    FROM, COPY --from and RUN --mount from=; a reference made of variables may name any
    earlier stage, so it keeps them all."""
    names = {stage.name: index for index, stage in enumerate(stages) if stage.name}

    def refs(index: int) -> set[int]:
        stage = stages[index]
        found = [stage.base]
        for instr in stage.instructions:
            found += instr.flags.get("from", [])
            found += [m.group(1) for text in instr.flags.get("mount", [])
                      for m in _MOUNT_FROM.finditer(text)]
        out: set[int] = set()
        for ref in found:
            ref = ref.strip().strip("'\"").lower()
            if "$" in ref:
                out.update(range(index))
            elif ref in names and names[ref] < index:
                out.add(names[ref])
            elif ref.isdigit() and int(ref) < index:
                out.add(int(ref))
        return out

    needed, todo = set(), [last]
    while todo:
        index = todo.pop()
        if index not in needed:
            needed.add(index)
            todo += refs(index)
    return sorted(needed)
