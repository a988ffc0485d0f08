"""`docker run`'s flags (and `create`'s): one table, read with docker's names, short
forms and value syntax, into the runtime's RunOptions. A flag with no meaning here
(Windows isolation, GPUs on a machine without any) is a one-line error naming it."""
from __future__ import annotations

import argparse
import os
from dataclasses import dataclass

from common.errors import BerthError
from common.units import parse_bytes, parse_duration


class FlagError(BerthError):
    """A bad flag or value: docker's exit code for them is 125."""

    exit_code = 125


@dataclass(frozen=True)
class Flag:
    names: tuple[str, ...]
    kind: str = "str"  # str, bool, list, int, float, bytes, duration
    help: str = ""


def _f(*names: str, kind: str = "str", help: str = "") -> Flag:
    return Flag(names, kind, help)


FLAGS = (
    _f("--add-host", kind="list", help="NAME:ADDRESS in /etc/hosts"),
    _f("-a", "--attach", kind="list", help="stdin, stdout, stderr"),
    _f("--annotation", kind="list"),
    _f("--blkio-weight", kind="int", help="10-1000"),
    _f("--blkio-weight-device", kind="list", help="DEVICE:WEIGHT"),
    _f("--cap-add", kind="list"), _f("--cap-drop", kind="list"),
    _f("--cgroup-parent"), _f("--cgroupns", help="host or private"),
    _f("--cidfile", help="write the container's id to this file"),
    _f("--cpu-period", kind="int"), _f("--cpu-quota", kind="int"),
    _f("--cpu-rt-period", kind="int"), _f("--cpu-rt-runtime", kind="int"),
    _f("-c", "--cpu-shares", kind="int"), _f("--cpus", kind="float"),
    _f("--cpuset-cpus"), _f("--cpuset-mems"),
    _f("-d", "--detach", kind="bool"), _f("--detach-keys"),
    _f("--device", kind="list", help="HOST[:CONTAINER[:PERMISSIONS]]"),
    _f("--device-cgroup-rule", kind="list", help="'c 1:3 rwm'"),
    _f("--device-read-bps", kind="list", help="DEVICE:RATE"),
    _f("--device-read-iops", kind="list"), _f("--device-write-bps", kind="list"),
    _f("--device-write-iops", kind="list"),
    _f("--disable-content-trust", kind="bool"),
    _f("--dns", kind="list"), _f("--dns-option", "--dns-opt", kind="list"),
    _f("--dns-search", kind="list"), _f("--domainname"),
    _f("--entrypoint"), _f("-e", "--env", kind="list"), _f("--env-file", kind="list"),
    _f("--expose", kind="list"), _f("--gpus"), _f("--group-add", kind="list"),
    _f("--health-cmd"), _f("--health-interval", kind="duration"),
    _f("--health-retries", kind="int"), _f("--health-start-period", kind="duration"),
    _f("--health-start-interval", kind="duration"), _f("--health-timeout", kind="duration"),
    _f("-h", "--hostname"), _f("--init", kind="bool"), _f("-i", "--interactive", kind="bool"),
    _f("--ip"), _f("--ip6"), _f("--ipc"), _f("--isolation"),
    _f("--kernel-memory", kind="bytes"),
    _f("-l", "--label", kind="list"), _f("--label-file", kind="list"),
    _f("--link", kind="list", help="CONTAINER[:ALIAS]"), _f("--link-local-ip", kind="list"),
    _f("--log-driver"), _f("--log-opt", kind="list"), _f("--mac-address"),
    _f("-m", "--memory", kind="bytes"), _f("--memory-reservation", kind="bytes"),
    _f("--memory-swap", kind="str"), _f("--memory-swappiness", kind="int"),
    _f("--mount", kind="list"), _f("--name"), _f("--network", "--net"),
    _f("--network-alias", "--net-alias", kind="list"), _f("--no-healthcheck", kind="bool"),
    _f("--oom-kill-disable", kind="bool"), _f("--oom-score-adj", kind="int"),
    _f("--pid"), _f("--pids-limit", kind="int"), _f("--platform"),
    _f("--privileged", kind="bool"), _f("-p", "--publish", kind="list"),
    _f("-P", "--publish-all", kind="bool"), _f("--pull", help="always, missing or never"),
    _f("-q", "--quiet", kind="bool"), _f("--read-only", kind="bool"),
    _f("--restart"), _f("--rm", kind="bool"), _f("--runtime"),
    _f("--security-opt", kind="list"), _f("--shm-size", kind="bytes"),
    _f("--sig-proxy", kind="str", help="true or false"), _f("--stop-signal"),
    _f("--stop-timeout", kind="int"), _f("--storage-opt", kind="list"),
    _f("--sysctl", kind="list"), _f("--tmpfs", kind="list"), _f("-t", "--tty", kind="bool"),
    _f("--ulimit", kind="list"), _f("-u", "--user"), _f("--userns"), _f("--uts"),
    _f("-v", "--volume", kind="list"), _f("--volume-driver"),
    _f("--volumes-from", kind="list"), _f("-w", "--workdir"),
)
CREATE_ONLY_OMITS = {"detach", "rm", "sig_proxy", "detach_keys", "attach"}  # run's alone


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, docker's exit code
        raise FlagError(f"{self.prog}: {message}")


def _typed(kind: str, name: str):
    def convert(text: str):
        try:
            if kind == "int":
                return int(text)
            if kind == "float":
                return float(text)
            if kind == "bytes":
                return parse_bytes(text)
            if kind == "duration":
                return parse_duration(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid value {text!r} for {name}") from None
        return text
    return convert


def parser(command: str) -> argparse.ArgumentParser:
    out = _Parser(prog=f"container {command}", add_help=False, allow_abbrev=False,
                  usage=f"berth container {command} [OPTIONS] IMAGE [COMMAND] [ARG...]")
    out.add_argument("--help", action="help", help="show this help and exit")
    for flag in FLAGS:
        dest = next(n for n in flag.names if n.startswith("--")).lstrip("-").replace("-", "_")
        if command == "create" and dest in CREATE_ONLY_OMITS:
            continue
        if flag.kind == "bool":
            out.add_argument(*flag.names, dest=dest, action="store_true", help=flag.help)
        elif flag.kind == "list":
            out.add_argument(*flag.names, dest=dest, action="append", default=[],
                             help=flag.help)
        else:
            out.add_argument(*flag.names, dest=dest, type=_typed(flag.kind, flag.names[-1]),
                             help=flag.help)
    out.add_argument("image")
    out.add_argument("command", nargs=argparse.REMAINDER)
    return out


def parse(command: str, argv: list[str]) -> argparse.Namespace:
    """The flags of `berth container run|create ARGV`; everything after the image is
    the container's command."""
    return parser(command).parse_args(argv)


def unsupported(args: argparse.Namespace) -> None:
    """Flags docker has that mean nothing on this machine: one line each."""
    reasons = {
        "isolation": "--isolation is for Windows containers",
        "runtime": "--runtime: berth is its own runtime",
        "storage_opt": "--storage-opt: berth's overlay storage takes no options",
        "ip6": "--ip6: berth's networks are IPv4 only",
        "link_local_ip": "--link-local-ip: berth's networks are IPv4 only",
        "cpu_rt_period": "--cpu-rt-period needs the kernel's real-time group scheduling",
        "cpu_rt_runtime": "--cpu-rt-runtime needs the kernel's real-time group scheduling",
    }
    for dest, reason in reasons.items():
        if getattr(args, dest, None) not in (None, [], False):
            raise FlagError(reason)
    if args.gpus and not any(os.path.exists(p) for p in ("/dev/nvidia0", "/dev/dri")):
        raise FlagError(f"--gpus {args.gpus}: this machine has no GPU")
    if args.userns not in (None, "", "host"):
        raise FlagError(f"--userns={args.userns}: only host (berth runs containers in the "
                        "machine's user namespace)")
    if args.volume_driver not in (None, "", "local"):
        raise FlagError(f"--volume-driver={args.volume_driver}: berth's volumes are local")
    if args.log_driver not in (None, "json-file", "local", "none", "journald", "syslog"):
        raise FlagError(f"--log-driver={args.log_driver}: berth keeps logs as JSON lines")
