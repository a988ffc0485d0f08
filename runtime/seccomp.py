"""docker's default seccomp policy, as a classic BPF filter built here (no libseccomp).

Like docker's profile, this is an allowlist: a container may make the syscalls the rules in
`seccomp_profile` allow it, and every other call is refused with EPERM; except that, as in
runc, a call numbered above every one in the machine's table (so newer than the profile)
says ENOSYS, on which the C library falls back to an older call (it does not on EPERM).
Which rules are in force depends on the container's capabilities (mount needs SYS_ADMIN,
reboot SYS_BOOT, ...) and on the machine, as moby's seccomp.setupSeccomp decides: a rule is
in force when the container holds all of its `caps` and none of its `unless_caps`, and the
machine is one of its `arches`. Rules with a `min_kernel` are taken as met (the newest is
4.8). The rules and the syscall numbers follow moby/profiles seccomp v0.2.3 (commit
836ae4d), as vendored by moby/moby at b985e23; see seccomp_profile.

The program: check the architecture, load the call number, find its verdict by a binary
search over ranges of call numbers (JGE), and return ALLOW or ERRNO; the calls whose verdict
depends on their first argument (socket, personality, clone without SYS_ADMIN) end in a small
block testing it. Only arg0's low 32 bits are tested: the kernel reads no more of these three
(an int, an unsigned int, and clone's flags, which it cuts to 32 bits), so high bits can't
slip a value past the filter.

The filter is installed last, just before the exec, so berth's own set-up (mount,
pivot_root) is done by then. Built for x86_64 (with its i386 compatibility calls; x32 calls
say ENOSYS, where docker allows them) and aarch64 (without arm32 compatibility calls, which
are refused); on other machines containers run without a filter. Privileged containers and
`security_opt: [seccomp=unconfined]` run without one too.
"""
from __future__ import annotations

import ctypes
import platform
import struct
from typing import Iterable

from .seccomp_profile import (AARCH64, DEFAULT_ERRNO, ENOSYS, EPERM, I386, RULES, X86_64, Arg0,
                              Rule)
from .syscalls import SYSCALLS, Syscalls

# the machine's own calls first, then the compatibility ones it also accepts
AUDIT_ARCH_X86_64, AUDIT_ARCH_I386, AUDIT_ARCH_AARCH64 = 0xC000003E, 0x40000003, 0xC00000B7
ARCHES = {"x86_64": [(AUDIT_ARCH_X86_64, X86_64), (AUDIT_ARCH_I386, I386)],
          "aarch64": [(AUDIT_ARCH_AARCH64, AARCH64)]}
NATIVE = {"x86_64": "amd64", "aarch64": "arm64"}  # moby's names, as the rules' arches use them
X32_BIT = 0x40000000  # x86_64's x32 ABI: not supported, as no current distribution uses it

# classic BPF (linux/filter.h) and seccomp (linux/seccomp.h)
_LD_W_ABS, _AND, _JA, _JEQ, _JGT, _JGE, _RET = 0x20, 0x54, 0x05, 0x15, 0x25, 0x35, 0x06
_NR, _ARCH, _ARG0 = 0, 4, 16  # offsets in struct seccomp_data (little endian)
ALLOW = 0x7FFF0000
ERRNO = 0x00050000
MAX_JUMP = 255  # jt and jf are 8 bits wide
PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2
NEWER = ERRNO | ENOSYS  # a call numbered above every one in the table: newer than the profile

# A verdict: a seccomp return value, or the tests of arg0 one of which allows the call
# (else it is refused with the default errno).
Verdict = int | tuple[Arg0, ...]
Op = tuple[int, int, int, int]


def in_force(caps: Iterable[str], native: str) -> list[Rule]:
    """The rules that apply to a container holding `caps` on machine `native` (moby's name)."""
    held = set(caps)
    return [rule for rule in RULES
            if held.issuperset(rule.caps) and not held.intersection(rule.unless_caps)
            and (not rule.arches or native in rule.arches)]


def verdict(name: str, rules: list[Rule]) -> Verdict:
    """What the rules in force say of syscall `name`."""
    naming = [rule for rule in rules if name in rule.names]
    allowing = [rule for rule in naming if not rule.errno]
    if any(rule.arg0 is None for rule in allowing):
        return ALLOW
    tests = tuple(rule.arg0 for rule in allowing if rule.arg0 is not None)
    refusing = [rule.errno for rule in naming if rule.errno]
    if tests and refusing:
        raise ValueError(f"{name}: an errno rule and argument tests together")
    if tests:
        return tests
    return ERRNO | (refusing[0] if refusing else DEFAULT_ERRNO)


def ranges(table: dict[str, int], rules: list[Rule], top: Verdict | None = None
           ) -> list[tuple[int, Verdict]]:
    """The call numbers 0 .. 2**32-1 cut into ranges of one verdict, as (first number,
    verdict), sorted; numbers no name has are refused, with ENOSYS above the table's highest
    number (calls newer than the profile) and the default errno below it. `top`: the verdict
    from X32_BIT on."""
    points = sorted((nr, verdict(name, rules)) for name, nr in table.items())
    refused: Verdict = ERRNO | DEFAULT_ERRNO
    cut: list[tuple[int, Verdict]] = [(0, refused)]
    for nr, said in points:
        cut += [(nr, said), (nr + 1, refused)]
    if points:
        cut[-1] = (cut[-1][0], NEWER)
    if top is not None:
        cut = [(nr, said) for nr, said in cut if nr < X32_BIT] + [(X32_BIT, top)]
    merged: list[tuple[int, Verdict]] = []
    for first, said in cut:
        if merged and merged[-1][0] == first:
            merged.pop()  # a range of no numbers
        if not merged or merged[-1][1] != said:
            merged.append((first, said))
    return merged


def _op(code: int, k: int = 0, jt: int = 0, jf: int = 0) -> Op:
    return (code, jt, jf, k)


# the jump each test of arg0 makes; "lt" is "not >=", so it allows on the false branch
_TESTS = {"lt": _JGE, "eq": _JEQ, "gt": _JGT, "masked_eq": _JEQ}


def _arg_block(tests: tuple[Arg0, ...]) -> list[Op]:
    """Load arg0's low 32 bits, jump to the final ALLOW on the first test that holds, else
    refuse."""
    ops: list[Op] = [_op(_LD_W_ABS, _ARG0)]
    jumps: list[int] = []
    for i, test in enumerate(tests):
        if test.op == "masked_eq":
            ops.append(_op(_AND, test.mask))
        jumps.append(len(ops))
        ops.append(_op(_TESTS[test.op], test.value))
        if test.op == "masked_eq" and i < len(tests) - 1:
            ops.append(_op(_LD_W_ABS, _ARG0))  # the AND changed the accumulator
    allow = len(ops) + 1
    for at in jumps:
        code, _, _, k = ops[at]
        reach = allow - at - 1
        ops[at] = _op(code, k, 0, reach) if code == _JGE else _op(code, k, reach, 0)
    assert allow <= MAX_JUMP
    return ops + [_op(_RET, ERRNO | DEFAULT_ERRNO), _op(_RET, ALLOW)]


def _leaf(said: Verdict) -> list[Op]:
    return [_op(_RET, said)] if isinstance(said, int) else _arg_block(said)


def _search(cut: list[tuple[int, Verdict]]) -> list[Op]:
    """A balanced binary search over the ranges, the accumulator holding the call number."""
    if len(cut) == 1:
        return _leaf(cut[0][1])
    middle = len(cut) // 2
    low, high = _search(cut[:middle]), _search(cut[middle:])
    if len(low) <= MAX_JUMP:
        return [_op(_JGE, cut[middle][0], len(low), 0)] + low + high
    return [_op(_JGE, cut[middle][0], 0, 1), _op(_JA, len(low))] + low + high


def program(caps: list[str], machine: str | None = None) -> bytes | None:
    """The filter for a container with capabilities `caps`, as struct sock_filter[]; None
    where berth has no syscall table for the machine."""
    machine = machine or platform.machine()
    arches = ARCHES.get(machine)
    if arches is None:
        return None
    rules = in_force(caps, NATIVE[machine])
    x32 = {AUDIT_ARCH_X86_64: ERRNO | ENOSYS}  # the verdict from X32_BIT on
    blocks = [[_op(_LD_W_ABS, _NR)] + _search(ranges(table, rules, x32.get(audit)))
              for audit, table in arches]
    ops = [_op(_LD_W_ABS, _ARCH)]
    start = 2 + 2 * len(blocks)  # where the first block begins, after the dispatch
    for i, ((audit, _), block) in enumerate(zip(arches, blocks)):
        ops += [_op(_JEQ, audit, 0, 1), _op(_JA, start - (3 + 2 * i))]
        start += len(block)
    ops.append(_op(_RET, ERRNO | EPERM))  # any other architecture
    for block in blocks:
        ops += block
    return b"".join(struct.pack("<HBBI", *op) for op in ops)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def install(filter_: bytes, sys: Syscalls = SYSCALLS) -> None:
    """Apply the filter to this process and all it will start; needs no_new_privs or
    CAP_SYS_ADMIN."""
    buffer = ctypes.create_string_buffer(filter_, len(filter_))
    fprog = _SockFprog(len(filter_) // 8, ctypes.addressof(buffer))
    sys.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(fprog))


def for_container(caps: list[str], privileged: bool, confined: bool) -> bytes | None:
    """The filter a container's processes run under, or None."""
    return program(caps) if confined and not privileged else None
