"""Device rules -> an eBPF program of type BPF_PROG_TYPE_CGROUP_DEVICE (pure).

cgroup v2 has no devices controller; the kernel instead runs a program attached to the
cgroup on every open and mknod of a device node, with a `struct bpf_cgroup_dev_ctx`:

    u32 access_type;  // (access << 16) | type; access: MKNOD 1, READ 2, WRITE 4;
    u32 major;        //                          type: BLOCK 1, CHAR 2
    u32 minor;

It returns 1 to allow and 0 to deny (the caller gets EPERM). The rules are cgroup v1's
`devices.allow` lines ("c 1:3 rwm", "b *:* m", "a"), with v1's deny-by-default: a request
is allowed when its access is a subset of a matching rule's; with deny rules in the list,
the last rule that matches decides. So the rules are emitted last first, each a block that
jumps to the next block on the first field that does not match, and ends in its verdict;
after the first rule's block comes "deny".
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Iterable, Sequence

# linux/bpf.h: enum bpf_devcg_dev_type, access flags
DEV_BLOCK, DEV_CHAR = 1, 2
ACC_MKNOD, ACC_READ, ACC_WRITE = 1, 2, 4
TYPES = {"b": DEV_BLOCK, "c": DEV_CHAR, "a": None}  # a: either
ACCESS = {"m": ACC_MKNOD, "r": ACC_READ, "w": ACC_WRITE}
ALL_ACCESS = ACC_MKNOD | ACC_READ | ACC_WRITE

# opcodes (linux/bpf_common.h, linux/bpf.h): class | op | source
LDX_MEM_W = 0x01 | 0x60 | 0x00  # dst = *(u32 *)(src + off)
ALU32_AND_K = 0x04 | 0x50 | 0x00  # dst = (u32)dst & imm
ALU32_RSH_K = 0x04 | 0x70 | 0x00  # dst = (u32)dst >> imm
ALU32_MOV_K = 0x04 | 0xB0 | 0x00  # dst = (u32)imm
ALU32_MOV_X = 0x04 | 0xB0 | 0x08  # dst = (u32)src
JMP_JNE_K = 0x05 | 0x50 | 0x00  # if dst != imm: pc += off
JMP_JNE_X = 0x05 | 0x50 | 0x08  # if dst != src: pc += off
JMP_EXIT = 0x05 | 0x90  # return r0

# registers: r1 holds the context on entry; the fields are loaded into r2..r5
R0, R1, R2, R3, R4, R5, R6 = range(7)
TYPE, ACC, MAJOR, MINOR, SCRATCH = R2, R3, R4, R5, R6

# the devices a container may use: docker's default allow list (v1 writes these to
# devices.allow, v2 builds its program from them)
DEVICE_RULES = (
    "c *:* m", "b *:* m",  # mknod anything, use nothing else by default
    "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm",  # null zero full random urandom
    "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm",  # tty console ptmx pts
    "c 10:200 rwm",  # tun
)
# a privileged container's: every device, as docker gives it ("a *:* rwm")
PRIVILEGED_RULES = ("a",)

_NEXT = object()  # a jump's target before it is resolved: the start of the next block


@dataclass(frozen=True, slots=True)
class DeviceRule:
    kind: str  # c, b, or a (both)
    major: int | None  # None: any ("*")
    minor: int | None
    access: str  # some of r, w, m
    allow: bool = True

    def __str__(self) -> str:
        """The rule as cgroup v1's devices.allow / devices.deny take it."""
        def num(n: int | None) -> str:
            return "*" if n is None else str(n)
        return f"{self.kind} {num(self.major)}:{num(self.minor)} {self.access}"


class RuleError(ValueError):
    """A device rule that is not `TYPE MAJOR:MINOR ACCESS`."""


def parse_rule(text: str, allow: bool = True) -> DeviceRule:
    """A v1 rule line: "c 1:3 rwm", "b *:* m", or "a" alone (everything)."""
    fields = text.split()
    if fields == ["a"]:
        return DeviceRule("a", None, None, "rwm", allow)
    if len(fields) != 3 or fields[0] not in TYPES or fields[1].count(":") != 1:
        raise RuleError(f"device rule {text!r}: want TYPE MAJOR:MINOR ACCESS, e.g. 'c 1:3 rwm'")
    major, minor = (_number(part, text) for part in fields[1].split(":"))
    access = fields[2]
    if not access or set(access) - set(ACCESS):
        raise RuleError(f"device rule {text!r}: access must be some of r, w, m")
    return DeviceRule(fields[0], major, minor, access, allow)


def _number(part: str, text: str) -> int | None:
    if part == "*":
        return None
    # an instruction's immediate is a signed 32-bit number (majors have 12 bits, minors 20)
    if not part.isdigit() or int(part) >= 1 << 31:
        raise RuleError(f"device rule {text!r}: {part!r} is not a device number or '*'")
    return int(part)


def insn(code: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    """One struct bpf_insn, little-endian (x86_64, aarch64): dst_reg is the low nibble."""
    return struct.pack("<BBhi", code, (src << 4) | dst, off, imm)


PROLOGUE = (
    (LDX_MEM_W, TYPE, R1, 0, 0), (ALU32_AND_K, TYPE, 0, 0, 0xFFFF),
    (LDX_MEM_W, ACC, R1, 0, 0), (ALU32_RSH_K, ACC, 0, 0, 16),
    (LDX_MEM_W, MAJOR, R1, 4, 0),
    (LDX_MEM_W, MINOR, R1, 8, 0),
)


def _block(rule: DeviceRule) -> list[tuple]:
    """The checks for one rule (each jumps to _NEXT on a mismatch), then its verdict."""
    checks: list[tuple] = []
    if TYPES[rule.kind] is not None:
        checks.append((JMP_JNE_K, TYPE, 0, _NEXT, TYPES[rule.kind]))
    wanted = sum(ACCESS[c] for c in set(rule.access))
    if wanted != ALL_ACCESS:  # the request's access must be a subset of the rule's
        checks += [(ALU32_MOV_X, SCRATCH, ACC, 0, 0), (ALU32_AND_K, SCRATCH, 0, 0, wanted),
                   (JMP_JNE_X, SCRATCH, ACC, _NEXT, 0)]
    if rule.major is not None:
        checks.append((JMP_JNE_K, MAJOR, 0, _NEXT, rule.major))
    if rule.minor is not None:
        checks.append((JMP_JNE_K, MINOR, 0, _NEXT, rule.minor))
    return checks + [(ALU32_MOV_K, R0, 0, 0, int(rule.allow)), (JMP_EXIT, 0, 0, 0, 0)]


def _resolve(block: list[tuple]) -> list[tuple]:
    """Turn each _NEXT into the offset from the following instruction to the block's end."""
    return [(code, dst, src, len(block) - i - 1 if off is _NEXT else off, imm)
            for i, (code, dst, src, off, imm) in enumerate(block)]


def instructions(rules: Iterable[DeviceRule]) -> list[tuple[int, int, int, int, int]]:
    """(code, dst, src, off, imm) for each instruction: the checks of the last rule first,
    then the rule before it, ..., then deny. A rule that matches every request ends the
    program (the verifier rejects instructions no path reaches)."""
    out = list(PROLOGUE)
    for rule in reversed(list(rules)):
        block = _block(rule)
        out += _resolve(block)
        if len(block) == 2:  # no checks: nothing after it can run
            return out
    return out + [(ALU32_MOV_K, R0, 0, 0, 0), (JMP_EXIT, 0, 0, 0, 0)]


def program(rules: Sequence[DeviceRule]) -> bytes:
    """The program for `rules`, as BPF_PROG_LOAD takes it."""
    return b"".join(insn(*fields) for fields in instructions(rules))
