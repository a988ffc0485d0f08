"""`berth build`: images from Dockerfiles, with berth's own containers for RUN.

Each stage starts from an image (pulled if missing), `scratch`, or an earlier stage.
Instructions that change only the image config change only the config; RUN runs in a
berth container and its changes (the container's overlay upper directory) become a
layer; COPY and ADD write a layer straight from the context (or another stage). Every
step has a cache key chained from its parent, the instruction, the values it sees and
the content it copies, so an unchanged rebuild only checks keys, and a change re-runs
from the first changed step on.
"""
from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import secrets
import shutil
import tarfile
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Callable

from common.patterns import Ignore

from ..errors import BerthError
from ..fsutil import read_json, write_json
from ..securejoin import secure_join
from . import imageconfig
from .buildspec import BuildError, BuildOptions
from .copyplan import CopyPlan, dir_info
from .dockerfile import DockerfileError, Instruction, parse, substitute
from .layerdiff import empty_dir, empty_file, has_changes, write_layer
from .rootview import ViewError, with_root
from .store import MEDIA_LAYER, Image, ImageNotFound

PROXY_ARGS = ("HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "NO_PROXY", "ALL_PROXY",
              "http_proxy", "https_proxy", "ftp_proxy", "no_proxy", "all_proxy")
_CONFIG_ONLY = {"CMD", "ENTRYPOINT", "ENV", "LABEL", "EXPOSE", "VOLUME", "USER", "STOPSIGNAL",
                "SHELL", "HEALTHCHECK", "ONBUILD", "MAINTAINER"}
_SUBSTITUTED = {"ENV", "LABEL", "EXPOSE", "VOLUME", "USER", "WORKDIR", "STOPSIGNAL", "ADD",
                "COPY", "FROM", "ONBUILD"}
_HEREDOC_ONLY = re.compile(r"<<-?(['\"]?)[A-Za-z_][A-Za-z0-9_]*\1")
_SKIP_IN_LAYERS = ("etc/hosts", "etc/hostname", "etc/resolv.conf")  # berth's bind mounts


@dataclass
class State:
    """A stage being built."""

    config: dict
    layers: list[dict]
    diff_ids: list[str]
    key: str
    args: dict[str, str] = field(default_factory=dict)

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


def _h(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


class Builder:
    def __init__(self, containers, pull: Callable[[str], Image] | None = None,
                 output: Callable[[str], None] = print) -> None:
        self.containers = containers
        self.store = containers.images
        self.pull = pull
        self.out = output
        self.cache_dir = self.store.root / "build-cache"
        self.cache_dir.mkdir(parents=True, exist_ok=True)

    # --- entry point -------------------------------------------------------------------

    def build(self, opts: BuildOptions) -> Image:
        """Build, with RUN steps on a network of the build's own (see _network)."""
        self.build_network: str | None = None
        try:
            return self._build(opts)
        finally:
            if self.build_network:
                from ..network.api import Networks

                try:
                    Networks(self.containers.paths).remove(self.build_network)
                except BerthError:
                    pass  # the next build removes it (see _network); the build's own
                    # result or error is what matters here

    def _build(self, opts: BuildOptions) -> Image:
        started = time.monotonic()
        self.opts = opts
        self.context = os.path.realpath(opts.context)
        if not os.path.isdir(self.context):
            raise BuildError(f"build context {opts.context} is not a directory")
        self.ignore = Ignore.from_context(self.context)
        text, self.file = self._dockerfile(opts)
        try:
            df = parse(text, self.file)
        except DockerfileError as err:
            raise BuildError(str(err)) from None
        self.escape = df.escape
        stages = df.stages
        if opts.target:
            names = [s.name for s in stages]
            if opts.target.lower() not in names:
                raise BuildError(f"target stage {opts.target!r} not found in {self.file}")
            stages = stages[:names.index(opts.target.lower()) + 1]
        self.total = sum(1 + len(s.instructions) for s in stages)
        self.step = 0
        global_args: dict[str, str] = {}
        for instr in df.global_args:
            name, value = self._arg(instr, global_args)
            if value is not None:
                global_args[name] = value
        self.stages: dict[str, State] = {}
        state = None
        for index, stage in enumerate(stages):
            state = self._from(stage, global_args, index)
            for instr in stage.instructions:
                state = self._instruction(state, instr)
            self.stages[str(index)] = state
            if stage.name:
                self.stages[stage.name] = state
        assert state is not None
        image = self._commit(state)
        self.out(f"Successfully built {image.short_id} in {time.monotonic() - started:.2f}s")
        for tag in opts.tags:
            self.out(f"Successfully tagged {tag}")
        return image

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

    def _say(self, instr_text: str, cached: bool = False) -> None:
        self.step += 1
        self.out(f"[{self.step}/{self.total}] {instr_text}" + ("  CACHED" if cached else ""))

    def _fail(self, instr: Instruction, message: str, code: int = 1) -> BuildError:
        return BuildError(f"{self.file}:{instr.line}: {instr.keyword}: {message}", code)

    # --- stages ------------------------------------------------------------------------

    def _arg(self, instr: Instruction, scope: dict[str, str]) -> tuple[str, str | None]:
        name, has, default = instr.args.strip().partition("=")
        name = name.strip()
        if name in self.opts.args:
            value = self.opts.args[name]
            if value is None:
                value = self.opts.environ.get(name)
            return name, value
        if has:
            return name, substitute(default.strip().strip('"').strip("'"), scope, self.escape)
        return name, None

    def _base(self, name: str, stage_line: int) -> Image | None:
        if name == "scratch":
            return None
        if name.lower() in self.stages:
            return self.stages[name.lower()].image()
        if self.opts.pull and self.pull:
            return self.pull(name)
        try:
            return self.store.get(name)
        except ImageNotFound:
            if self.pull is None:
                raise BuildError(f"{self.file}:{stage_line}: FROM: image {name} not found") from None
            try:
                return self.pull(name)
            except BerthError as err:
                raise BuildError(f"{self.file}:{stage_line}: FROM {name}: {err}") from None

    def _from(self, stage, global_args: dict[str, str], index: int) -> State:
        base_name = substitute(stage.base, global_args, self.escape)
        self._say(f"FROM {base_name}" + (f" AS {stage.name}" if stage.name else ""))
        if base_name.lower() in self.stages:
            parent = self.stages[base_name.lower()]
            state = State(copy.deepcopy(parent.config), list(parent.layers), list(parent.diff_ids),
                          parent.key, {})
        else:
            image = self._base(base_name, stage.line)
            if image is None:
                config = imageconfig.new_config()
                config["config"] = {}
                state = State(config, [], [], _h("scratch"), {})
            else:
                config = copy.deepcopy(image.config)
                config.setdefault("config", {})
                config.setdefault("history", [])
                state = State(config, list(image.layers), list(image.diff_ids),
                              _h("FROM", image.id), {})
        # global ARGs are visible in a stage only when re-declared there
        self.global_args = global_args
        for trigger in state.config.get("config", {}).pop("OnBuild", None) or []:
            keyword, _, rest = trigger.partition(" ")
            state = self._instruction(state, Instruction(keyword.upper(), rest.strip(), stage.line,
                                                         original=f"ONBUILD {trigger}"))
        return state

    # --- instructions ------------------------------------------------------------------

    def _instruction(self, state: State, instr: Instruction) -> State:
        keyword = instr.keyword
        values = state.values()
        args = substitute(instr.args, values, self.escape) if keyword in _SUBSTITUTED else instr.args
        if keyword == "ARG":
            name, value = self._arg(instr, {**self.global_args, **state.args})
            if value is None and name in self.global_args:
                value = self.global_args[name]
            state.args = dict(state.args)
            if value is not None:
                state.args[name] = value
            state.key = _h(state.key, "ARG", name, value)
            self._say(f"ARG {instr.args.strip()}")
            return state
        if keyword == "WORKDIR":
            return self._workdir(state, instr, args)
        if keyword in _CONFIG_ONLY:
            key = _h(state.key, keyword, args)
            entry = self._cached(key)
            self._say(f"{keyword} {args}", cached=entry is not None)
            state = State(copy.deepcopy(state.config), state.layers, state.diff_ids, key, state.args)
            if entry is not None:
                return self._reuse(state, entry)
            if keyword == "MAINTAINER":
                state.config.setdefault("author", args)
            else:
                try:
                    imageconfig.apply(state.config, keyword, args)
                except BerthError as err:
                    raise self._fail(instr, str(err)) from None
            return self._add_layer_from(state, key, None, f"/bin/sh -c #(nop)  {keyword} {args}")
        if keyword == "RUN":
            return self._run(state, instr)
        if keyword in ("COPY", "ADD"):
            return self._copy(state, instr, args)
        raise self._fail(instr, "not supported")

    def _history(self, state: State, created_by: str, empty: bool) -> None:
        entry = {"created": imageconfig.now_rfc3339(), "created_by": created_by}
        if empty:
            entry["empty_layer"] = True
        state.config.setdefault("history", []).append(entry)

    # --- the cache ---------------------------------------------------------------------

    def _cached(self, key: str) -> dict | None:
        if self.opts.no_cache:
            return None
        entry = read_json(self.cache_dir / f"{key}.json")
        if entry and entry.get("layer"):
            layer = entry["layer"]
            if not self.store.has_blob(layer["digest"]):
                return None
            self.store.ensure_layer(layer["digest"], entry["diff_id"])
        return entry

    def _remember(self, key: str, layer: dict | None, diff_id: str | None, config: dict) -> None:
        write_json(self.cache_dir / f"{key}.json", {"layer": layer, "diff_id": diff_id,
                                                    "config": config})

    def _add_layer_from(self, state: State, key: str, tar_path: str | None, created_by: str) -> State:
        """Append the layer in `tar_path` (None: no change) and remember the step."""
        if tar_path is None:
            self._history(state, created_by, empty=True)
            self._remember(key, None, None, state.config)
            return state
        with open(tar_path, "rb") as handle:
            digest, size = self.store.put_stream(handle)
        diff_id = self.store.ensure_layer(digest)
        layer = {"mediaType": MEDIA_LAYER, "digest": digest, "size": size}
        state.layers = state.layers + [layer]
        state.diff_ids = state.diff_ids + [diff_id]
        self._history(state, created_by, empty=False)
        self._remember(key, layer, diff_id, state.config)
        return state

    def _reuse(self, state: State, entry: dict) -> State:
        state.config = entry["config"]
        if entry.get("layer"):
            state.layers = state.layers + [entry["layer"]]
            state.diff_ids = state.diff_ids + [entry["diff_id"]]
        return state

    # --- RUN ---------------------------------------------------------------------------

    def _run(self, state: State, instr: Instruction) -> State:
        cfg = state.config.get("config", {})
        shell = cfg.get("Shell") or ["/bin/sh", "-c"]
        exec_form = instr.json_args()
        if exec_form is not None:
            argv = exec_form
        elif instr.heredocs and _HEREDOC_ONLY.fullmatch(instr.args.strip()):
            argv = shell + [instr.heredocs[0][1]]  # `RUN <<EOF`: the body is the script
        elif instr.heredocs:  # `RUN cmd <<EOF`: the shell reads the heredoc itself
            script = instr.args + "\n" + "".join(f"{body}{name}\n" for name, body in instr.heredocs)
            argv = shell + [script]
        else:
            argv = shell + [instr.args]
        proxies = {k: v for k, v in self.opts.args.items() if k in PROXY_ARGS and v is not None}
        env = {**proxies, **state.args, **state.env}
        user = cfg.get("User") or ""
        workdir = cfg.get("WorkingDir") or "/"
        key = _h(state.key, "RUN", argv, env, user, workdir, self.opts.network or "default")
        shown = instr.args if exec_form is None else json.dumps(argv)
        entry = self._cached(key)
        state = State(state.config, state.layers, state.diff_ids, key, state.args)
        if entry is not None:
            self._say(f"RUN {shown}", cached=True)
            return self._reuse(state, entry)
        self._say(f"RUN {shown}")
        state.config = copy.deepcopy(state.config)
        upper = self._execute(state, instr, argv, env, user, workdir)
        return self._add_layer_from(state, key, upper, f"RUN {shown}")

    def _execute(self, state: State, instr: Instruction, argv: list[str], env: dict,
                 user: str, workdir: str) -> str | None:
        """Run one RUN step in a container; the path of the layer tar of its changes."""
        from ..create import RunOptions
        from ..spec import Endpoint, NetworkConfig

        network = self._network()
        net = NetworkConfig(mode=network) if network in ("host", "none") else \
            NetworkConfig(mode="bridge", endpoints=[Endpoint(network)])
        options = RunOptions(entrypoint=[], command=argv, env=[f"{k}={v}" for k, v in env.items()],
                             working_dir=workdir, user=user, network=net,
                             labels={"berth.build": "1"}, no_healthcheck=True)
        container = self.containers.create(state.image(), options)
        try:
            self.containers.start(container.id)
            for line in self.containers.logs(container.id, follow=True):
                self.out("  " + line.text.rstrip("\n"))
            code = self.containers.wait(container.id)
            if code != 0:
                raise self._fail(instr, f"the command returned a non-zero code: {code}", code)
            upper = str(container.dir / "upper")
            tar_path = os.path.join(str(self.store.tmp), f"run-{container.id[:16]}.tar")
            skip = [p for p in _SKIP_IN_LAYERS if empty_file(os.path.join(upper, p))]
            skip += [d for d in ("proc", "sys", "dev") if empty_dir(os.path.join(upper, d))]
            if not has_changes(upper, skip):
                return None
            with open(tar_path, "wb") as out:
                write_layer(upper, out, skip)
            return tar_path
        except BerthError as err:
            if isinstance(err, BuildError):
                raise
            raise self._fail(instr, str(err)) from None
        finally:
            self.containers.remove(container.id, force=True)

    def _network(self) -> str:
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

    # --- WORKDIR -----------------------------------------------------------------------

    def _workdir(self, state: State, instr: Instruction, args: str) -> State:
        cfg = state.config.setdefault("config", {})
        path = os.path.normpath(os.path.join(cfg.get("WorkingDir") or "/", args))
        key = _h(state.key, "WORKDIR", path)
        entry = self._cached(key)
        self._say(f"WORKDIR {path}", cached=entry is not None)
        state = State(state.config, state.layers, state.diff_ids, key, state.args)
        if entry is not None:
            return self._reuse(state, entry)
        state.config = copy.deepcopy(state.config)
        state.config["config"]["WorkingDir"] = path
        missing = self._missing_dirs(state, path)
        tar_path = None
        if missing:
            tar_path = os.path.join(str(self.store.tmp), f"workdir-{key[:16]}.tar")
            with tarfile.open(tar_path, "w", format=tarfile.PAX_FORMAT) as tar:
                for directory in missing:
                    tar.addfile(dir_info(directory, 0, 0))
        return self._add_layer_from(state, key, tar_path, f"WORKDIR {path}")

    def _missing_dirs(self, state: State, path: str) -> list[str]:
        """The directories along `path` (relative, outermost first) the image lacks."""
        parts = [p for p in path.split("/") if p]
        wanted = ["/".join(parts[:i + 1]) for i in range(len(parts))]
        layers = self.store.layer_dirs(state.image())

        def check(root: str) -> list[str]:
            return [d for d in wanted if not os.path.isdir(secure_join(root, d))]

        return with_root(layers, check)

    # --- COPY / ADD --------------------------------------------------------------------

    def _copy(self, state: State, instr: Instruction, args: str) -> State:
        words = instr.json_args() or args.split()
        if instr.json_args() is not None:
            words = [substitute(w, state.values(), self.escape) for w in words]
        if instr.heredocs:
            sources, dest = [], words[-1]
        else:
            if len(words) < 2:
                raise self._fail(instr, "needs at least one source and a destination")
            sources, dest = words[:-1], words[-1]
        cfg = state.config.setdefault("config", {})
        as_dir = dest.endswith(("/", "/.")) or dest in (".", "..")
        dest = os.path.normpath(os.path.join(cfg.get("WorkingDir") or "/", dest))
        dest = dest.rstrip("/") + "/" if as_dir else dest
        chown = instr.flags.get("chown")
        chmod = instr.flags.get("chmod")
        source_from = instr.flags.get("from")
        uid, gid = self._owner(state, chown) if chown else (0, 0)
        mode = int(chmod, 8) if chmod else None
        label = f"{instr.keyword} " + " ".join(
            [f"--{k}={v}" for k, v in instr.flags.items()] + sources + [dest])

        tmpdir = tempfile.mkdtemp(dir=str(self.store.tmp), prefix="copy-")
        try:
            plan = CopyPlan(dest, uid, gid, mode, adding=instr.keyword == "ADD")
            if instr.heredocs:
                for name, body in instr.heredocs:
                    path = os.path.join(tmpdir, name)
                    with open(path, "w") as handle:
                        handle.write(body)
                    plan.file(path, dest if not dest.endswith("/") else dest + name)
                digest = _h([b for _, b in instr.heredocs], dest)
                root_layers: list[str] | None = None
            elif source_from is not None:
                root_layers = self._from_layers(source_from, instr)
                digest = _h(source_from, self._stage_key(source_from))
            else:
                root_layers = None
                digest = ""
            if not instr.heredocs:
                sources = [self._fetch_url(s, tmpdir, instr) if s.startswith(("http://", "https://"))
                           and instr.keyword == "ADD" else s for s in sources]
                if root_layers is None:
                    digest = plan.collect(self.context, sources, self.ignore, tmpdir, instr, self)
                else:
                    plan.remote_sources = sources
            key = _h(state.key, instr.keyword, label, digest, uid, gid, mode)
            entry = self._cached(key)
            state = State(state.config, state.layers, state.diff_ids, key, state.args)
            if entry is not None:
                self._say(label, cached=True)
                return self._reuse(state, entry)
            self._say(label)
            state.config = copy.deepcopy(state.config)
            tar_path = os.path.join(tmpdir, "layer.tar")
            missing = self._missing_dirs(state, plan.target_dir())
            if root_layers is not None:
                with_root(root_layers, lambda root: plan.write_from(root, tar_path, missing, instr,
                                                                    self))
            else:
                plan.write(tar_path, missing)
            return self._add_layer_from(state, key, tar_path, label)
        finally:
            shutil.rmtree(tmpdir, ignore_errors=True)

    def _stage_key(self, name: str) -> str:
        state = self.stages.get(name.lower())
        return state.key if state else name

    def _from_layers(self, name: str, instr: Instruction) -> list[str]:
        if name.lower() in self.stages:
            return self.store.layer_dirs(self.stages[name.lower()].image())
        if name in self.opts.contexts:
            return [os.path.realpath(self.opts.contexts[name])]
        image = self._base(name, instr.line)
        return self.store.layer_dirs(image) if image else []

    def _owner(self, state: State, spec: str) -> tuple[int, int]:
        from ..users import UserError, resolve_in

        user, _, group = spec.partition(":")
        if user.isdigit() and (not group or group.isdigit()):
            return int(user), int(group) if group else int(user)
        layers = self.store.layer_dirs(state.image())
        try:
            resolved = with_root(layers, lambda root: resolve_in(root, spec))
        except (UserError, ViewError) as err:
            raise BuildError(f"--chown={spec}: {err}") from None
        return resolved.uid, resolved.gid

    def _fetch_url(self, url: str, tmpdir: str, instr: Instruction) -> str:
        name = os.path.basename(url.split("?")[0]) or "download"
        path = os.path.join(tmpdir, "urls", name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        try:
            with urllib.request.urlopen(url, timeout=60) as resp, open(path, "wb") as out:
                shutil.copyfileobj(resp, out)
        except OSError as err:
            raise self._fail(instr, f"cannot download {url}: {err}") from None
        return path

    # --- the result --------------------------------------------------------------------

    def _commit(self, state: State) -> Image:
        config = copy.deepcopy(state.config)
        config["rootfs"] = {"type": "layers", "diff_ids": list(state.diff_ids)}
        history = config.get("history") or []
        # the time of the last step: a fully cached rebuild gives the very same image
        config["created"] = history[-1]["created"] if history else imageconfig.now_rfc3339()
        if self.opts.labels:
            config.setdefault("config", {}).setdefault("Labels", {}).update(self.opts.labels)
        config.setdefault("architecture", imageconfig.host_arch())
        config.setdefault("os", "linux")
        return self.store.add(config, list(state.layers), self.opts.tags)
