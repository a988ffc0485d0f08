"""RUN: the command (exec form, shell form, heredocs), its mounts, network and
security mode, run in a berth container on the stage's filesystem; its changes (the
container's upper directory) become the step's layer."""
from __future__ import annotations

import copy
import json
import os
import re
import shutil
import stat
import tempfile

from ..errors import BerthError
from .buildspec import BuildError
from .dockerfile import Instruction
from .layerdiff import empty_dir, empty_file, has_changes, write_layer
from .runmounts import MountError, parse_mounts
from .stepmounts import StepMounts

PROXY_ARGS = ("HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "NO_PROXY", "ALL_PROXY",
              "http_proxy", "https_proxy", "ftp_proxy", "no_proxy", "all_proxy")
_HEREDOC_ONLY = re.compile(r"<<-?(['\"]?)[A-Za-z0-9_.-]+\1")
_SKIP_IN_LAYERS = ("etc/hosts", "etc/hostname", "etc/resolv.conf")  # berth's bind mounts
PIPES = "/dev/pipes"  # where a heredoc script with a #! line is put to be run


def command(instr: Instruction, shell: list[str]) -> tuple[list[str], tuple[str, str] | None]:
    """The argv of a RUN, and (name, body) of a heredoc script to put in PIPES and run
    as a program (a lone heredoc that starts with #!), as BuildKit does."""
    exec_form = instr.json_args()
    if exec_form is not None:
        return exec_form, None
    if instr.heredocs and _HEREDOC_ONLY.fullmatch(instr.args.strip()):
        doc = instr.heredocs[0]
        if doc.body.startswith("#!"):
            return [f"{PIPES}/{doc.name}"], (doc.name, doc.body)
        return shell + [doc.body], None  # `RUN <<EOF`: the body is the script
    if instr.heredocs:  # `RUN cmd <<EOF`: the shell reads the heredocs itself
        script = instr.args + "".join(f"\n{doc.body}{doc.name}" for doc in instr.heredocs)
        return shell + [script], None
    return shell + [instr.args], None


def run_step(builder, state, instr: Instruction):
    cfg = state.config.get("config", {})
    argv, script = command(instr, cfg.get("Shell") or ["/bin/sh", "-c"])
    proxies = {k: v for k, v in builder.opts.args.items() if k in PROXY_ARGS and v is not None}
    env = {**proxies, **state.args, **state.env}
    user = cfg.get("User") or ""
    workdir = cfg.get("WorkingDir") or "/"
    values = state.values()
    try:
        specs = parse_mounts(instr.flags.get("mount", []), values, workdir, builder.escape)
    except MountError as err:
        raise builder.fail(instr, f"--mount: {err}") from None
    network = _network(builder, instr, values)
    insecure = _security(builder, instr, values)
    shown = instr.args if instr.json_args() is None else json.dumps(argv)
    mounts = StepMounts(builder, instr)
    try:
        mounts.prepare(specs)
        key = builder.key(state.key, "RUN", argv, script, env, user, workdir, network, insecure,
                          mounts.key)
        entry = builder.cache_get(key, state)
        state = state.step(key)
        if entry is not None:
            builder.say(f"RUN {shown}", cached=True)
            return state.reuse(entry)
        builder.say(f"RUN {shown}")
        state.config = copy.deepcopy(state.config)
        layer = _execute(builder, state, instr, argv, script, {**env, **mounts.env}, user,
                         workdir, network, insecure, mounts)
        return builder.add_layer(state, key, layer, f"RUN {shown}")
    finally:
        mounts.close()


def _network(builder, instr: Instruction, values: dict[str, str]) -> str:
    asked = builder.expand(instr.flag("network") or "default", values, instr)
    if asked not in ("default", "none", "host"):
        raise builder.fail(instr, f"--network={asked}: use default, none or host")
    if asked == "host" and "network.host" not in builder.opts.allow and \
            builder.opts.network != "host":
        raise builder.fail(instr, "--network=host needs the build to allow it "
                                  "(--allow network.host)")
    return builder.opts.network or "default" if asked == "default" else asked


def _security(builder, instr: Instruction, values: dict[str, str]) -> bool:
    asked = builder.expand(instr.flag("security") or "sandbox", values, instr)
    if asked not in ("sandbox", "insecure"):
        raise builder.fail(instr, f"--security={asked}: use sandbox or insecure")
    if asked == "insecure" and "security.insecure" not in builder.opts.allow:
        raise builder.fail(instr, "--security=insecure needs the build to allow it "
                                  "(--allow security.insecure)")
    return asked == "insecure"


def _execute(builder, state, instr: Instruction, argv: list[str], script, env: dict,
             user: str, workdir: str, network: str, insecure: bool,
             mounts: StepMounts) -> str | None:
    """Run one RUN step in a container; the path of the layer tar of its changes."""
    from ..create import RunOptions
    from ..spec import Endpoint, Mount, NetworkConfig

    opts = builder.opts
    name = builder.run_network() if network == "default" else network
    net = NetworkConfig(mode=name) if name in ("host", "none") else \
        NetworkConfig(mode="bridge", endpoints=[Endpoint(name)])
    net.extra_hosts = [list(pair) for pair in opts.add_hosts]
    run_mounts = list(mounts.mounts)
    if script is not None:
        pipes = tempfile.mkdtemp(prefix="pipes-", dir=str(builder.store.tmp))
        os.chmod(pipes, 0o755)
        path = os.path.join(pipes, script[0])
        with open(path, "w") as handle:
            handle.write(script[1])
        os.chmod(path, 0o755)
        run_mounts.append(Mount("bind", f"{PIPES}/{script[0]}", source=path, read_only=True))
    options = RunOptions(entrypoint=[], command=argv, env=[f"{k}={v}" for k, v in env.items()],
                         working_dir=workdir, user=user, network=net, mounts=run_mounts,
                         labels={"berth.build": "1"}, no_healthcheck=True,
                         groups_as="buildkit",
                         privileged=insecure, shm_size=opts.shm_size, ulimits=dict(opts.ulimits))
    container = builder.containers.create(state.image(), options)
    try:
        builder.containers.start(container.id)
        for line in builder.containers.logs(container.id, follow=True):
            builder.out("  " + line.text.rstrip("\n"))
        code = builder.containers.wait(container.id)
        if code != 0:
            raise builder.fail(instr, f"the command returned a non-zero code: {code}", code)
        upper = str(container.dir / "upper")
        tar_path = os.path.join(str(builder.store.tmp), f"run-{container.id[:16]}.tar")
        skip = [p for p in _SKIP_IN_LAYERS if empty_file(os.path.join(upper, p))]
        skip += [d for d in ("proc", "sys", "dev") if empty_dir(os.path.join(upper, d))]
        skip += [stub.lstrip("/") for stub in mounts.stubs if _is_stub(os.path.join(upper, stub.lstrip("/")))]
        if not has_changes(upper, skip):
            return None
        with open(tar_path, "wb") as out:
            write_layer(upper, out, skip)
        return tar_path
    except BerthError as err:
        if isinstance(err, BuildError):
            raise
        raise builder.fail(instr, str(err)) from None
    finally:
        builder.containers.remove(container.id, force=True)
        if script is not None:
            shutil.rmtree(pipes, ignore_errors=True)


def _is_stub(path: str) -> bool:
    """An empty file or socket left where a file was mounted."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return (stat.S_ISREG(st.st_mode) and st.st_size == 0) or stat.S_ISSOCK(st.st_mode)
