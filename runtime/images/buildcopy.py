"""COPY and ADD: sources from the context, a named context, another stage or image, a
heredoc, a URL (ADD, with --checksum) or a git repository (ADD); --chown, --chmod,
--parents, --exclude and --link; the layer they write (runtime.images.copyplan)."""
from __future__ import annotations

import copy
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import urllib.request
from functools import partial

from common.patterns import Ignore

from .copyplan import CopyPlan, Mode
from .dockerfile import Instruction
from .rootview import ViewError, with_root
from .shellwords import WordError

_GIT = ("git://", "git@", "ssh://")


def is_git(source: str) -> bool:
    """A git repository, as BuildKit recognizes one for ADD."""
    if source.startswith(_GIT):
        return True
    base = source.split("#", 1)[0]
    return source.startswith(("http://", "https://")) and base.endswith(".git")


def copy_step(builder, state, instr: Instruction):
    values = state.values()
    words = instr.json_args()
    if words is None:
        words = instr.args.split()
    try:
        words = [builder.expand(w, values, instr) for w in words]
    except WordError as err:
        raise builder.fail(instr, str(err)) from None
    if instr.heredocs:
        sources, dest = [], words[-1]
    else:
        if len(words) < 2:
            raise builder.fail(instr, "needs at least one source and a destination")
        sources, dest = words[:-1], words[-1]
    flags = {name: builder.expand(value, values, instr) for name, value in
             ((n, instr.flag(n)) for n in ("chown", "chmod", "from", "checksum"))
             if value is not None}
    adding = instr.keyword == "ADD"
    cfg = state.config.setdefault("config", {})
    as_dir = dest.endswith(("/", "/.")) or dest in (".", "..")
    dest = os.path.normpath(os.path.join(cfg.get("WorkingDir") or "/", dest))
    dest = dest.rstrip("/") + "/" if as_dir else dest
    uid, gid = builder.owner(state, flags["chown"], instr) if flags.get("chown") else (0, 0)
    mode = _mode(builder, instr, flags.get("chmod"))
    excludes = [builder.expand(p, values, instr) for p in instr.flags.get("exclude", [])]
    label = f"{instr.keyword} " + " ".join(
        [f"--{k}={v}" for k, vs in instr.flags.items() for v in vs] + sources + [dest])

    tmpdir = tempfile.mkdtemp(dir=str(builder.store.tmp), prefix="copy-")
    try:
        plan = CopyPlan(dest, uid, gid, mode, adding=adding)
        plan.parents = "parents" in instr.flags and instr.flag("parents") != "false"
        plan.excludes = Ignore(excludes) if excludes else None
        root_layers: list[str] | None = None
        if instr.heredocs:
            for doc in instr.heredocs:
                path = os.path.join(tmpdir, doc.name)
                body = builder.expand(doc.body, values, instr, quotes=False) if doc.expand else doc.body
                with open(path, "w") as handle:
                    handle.write(body)
                os.chmod(path, 0o644)
                plan.file(path, dest if not dest.endswith("/") else dest + doc.name)
            digest = builder.key([(d.name, d.body, d.expand) for d in instr.heredocs], values)
        elif "from" in flags:
            root_layers = builder.source_layers(flags["from"], instr)
            digest = builder.key(flags["from"], builder.source_key(flags["from"]))
            plan.remote_sources = sources
        else:
            fetched = [_fetch(builder, s, tmpdir, instr, flags.get("checksum"))
                       if adding and (s.startswith(("http://", "https://")) or is_git(s)) else s
                       for s in sources]
            if "checksum" in flags and fetched == sources:
                raise builder.fail(instr, "--checksum is for sources fetched from a URL")
            digest = plan.collect(builder.context, fetched, builder.ignore, tmpdir, instr, builder)
        key = builder.key(state.key, instr.keyword, label, digest, uid, gid, flags.get("chmod"))
        entry = builder.cache_get(key, state)
        state = state.step(key)
        if entry is not None:
            builder.say(label, cached=True)
            return state.reuse(entry)
        builder.say(label)
        state.config = copy.deepcopy(state.config)
        tar_path = os.path.join(tmpdir, "layer.tar")

        def missing(target: str) -> list[str]:
            return builder.missing_dirs(state, target)

        if root_layers is not None:
            with_root(root_layers, lambda root: plan.write_from(root, tar_path, missing, instr,
                                                                builder))
        else:
            plan.write(tar_path, missing)
        return builder.add_layer(state, key, tar_path, label)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def _mode(builder, instr: Instruction, chmod: str | None) -> Mode:
    if chmod is None:
        return None
    if chmod.isdigit():
        mode = int(chmod, 8) if set(chmod) <= set("01234567") else -1
        if 0 <= mode <= 0o7777:
            return mode
    elif _SYMBOLIC.fullmatch(chmod):
        return partial(symbolic_mode, chmod)
    raise builder.fail(instr, f"--chmod={chmod}: expected an octal mode (0755) or a symbolic "
                              "one (u+x,go-w)")


_SYMBOLIC = re.compile(r"[ugoa]*[-+=][rwxXst]*(,[ugoa]*[-+=][rwxXst]*)*")
_WHO = {"u": 0o4700, "g": 0o2070, "o": 0o1007}
_BITS = {"r": 0o444, "w": 0o222, "x": 0o111, "s": 0o6000, "t": 0o1000}


def symbolic_mode(spec: str, mode: int, is_dir: bool) -> int:
    """`mode` changed as chmod(1) changes it with `spec` (u+x,go-w,a=rX...)."""
    for clause in spec.split(","):
        match = re.fullmatch(r"([ugoa]*)([-+=])([rwxXst]*)", clause)
        assert match is not None
        who, op, perms = match.groups()
        mask = 0
        for person in (who.replace("a", "ugo") or "ugo"):
            mask |= _WHO[person]
        bits = 0
        for perm in perms:
            if perm == "X":
                bits |= 0o111 if is_dir or mode & 0o111 else 0
            else:
                bits |= _BITS[perm]
        bits &= mask
        if op == "+":
            mode |= bits
        elif op == "-":
            mode &= ~bits
        else:
            mode = (mode & ~(mask & 0o7777)) | bits
    return mode & 0o7777


def owner(builder, state, spec: str, instr: Instruction) -> tuple[int, int]:
    """--chown (or WORKDIR's owner): a numeric user is its own group unless one is
    given; names are read from the stage's /etc/passwd and /etc/group."""
    from ..users import UserError, resolve_in

    user, _, group = spec.partition(":")
    if user.isdigit() and (not group or group.isdigit()):
        return int(user), int(group) if group else int(user)
    layers = builder.store.layer_dirs(state.image())
    try:
        resolved = with_root(layers, lambda root: resolve_in(root, spec, groups_as="buildkit"))
    except (UserError, ViewError) as err:
        raise builder.fail(instr, f"{spec}: {err}") from None
    return resolved.uid, resolved.gid


def _fetch(builder, url: str, tmpdir: str, instr: Instruction, checksum: str | None) -> str:
    if is_git(url):
        return _clone(builder, url, tmpdir, instr)
    name = os.path.basename(url.split("?")[0]) or "download"
    path = os.path.join(tmpdir, "urls", name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=60) as resp, open(path, "wb") as out:
            while chunk := resp.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
    except OSError as err:
        raise builder.fail(instr, f"cannot download {url}: {err}") from None
    if checksum is not None:
        algorithm, _, want = checksum.partition(":")
        if algorithm != "sha256" or not want:
            raise builder.fail(instr, f"--checksum={checksum}: expected sha256:<hex digest>")
        if digest.hexdigest() != want.lower():
            raise builder.fail(instr, f"{url}: checksum mismatch: got sha256:{digest.hexdigest()}, "
                                      f"expected {checksum}")
    os.chmod(path, 0o600)  # ADD gives a downloaded file mode 600, as docker does
    return path


def _clone(builder, url: str, tmpdir: str, instr: Instruction) -> str:
    """A git repository at `url` (`#ref` and `#ref:subdir` as docker reads them),
    without its .git unless --keep-git-dir."""
    if shutil.which("git") is None:
        raise builder.fail(instr, f"{url}: ADD of a git repository needs git on this machine")
    base, _, fragment = url.partition("#")
    ref, _, subdir = fragment.partition(":")
    checkout = os.path.join(tmpdir, "git", os.path.basename(base).removesuffix(".git") or "repo")
    command = ["git", "clone", "--quiet", "--recurse-submodules"]
    command += ["--depth", "1", "--branch", ref] if ref and not _is_commit(ref) else []
    try:
        subprocess.run(command + ["--", base, checkout], check=True, capture_output=True,
                       text=True, timeout=600, env={**os.environ, "GIT_TERMINAL_PROMPT": "0"})
        if ref and _is_commit(ref):
            subprocess.run(["git", "-C", checkout, "checkout", "--quiet", ref], check=True,
                           capture_output=True, text=True, timeout=600)
    except subprocess.CalledProcessError as err:
        raise builder.fail(instr, f"git clone {base}: {err.stderr.strip() or err}") from None
    except (OSError, subprocess.TimeoutExpired) as err:
        raise builder.fail(instr, f"git clone {base}: {err}") from None
    if instr.flag("keep-git-dir") in (None, "false"):
        shutil.rmtree(os.path.join(checkout, ".git"), ignore_errors=True)
    source = os.path.realpath(os.path.join(checkout, subdir.strip("/")))
    if not (source + "/").startswith(os.path.realpath(checkout) + "/") and source != \
            os.path.realpath(checkout):
        raise builder.fail(instr, f"{url}: the subdirectory leads outside the repository")
    return source + "/" if os.path.isdir(source) else source


def _is_commit(ref: str) -> bool:
    return len(ref) == 40 and all(c in "0123456789abcdef" for c in ref.lower())

