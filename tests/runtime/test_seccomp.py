"""The seccomp filter's tables and program (the filter at work: test_containers)."""
import re
import struct
from pathlib import Path

import pytest

from runtime import seccomp, seccomp_profile as profile
from runtime.capabilities import DEFAULT, NAMES

HEADERS = {"X86_64": "/usr/include/x86_64-linux-gnu/asm/unistd_64.h",
           "I386": "/usr/include/x86_64-linux-gnu/asm/unistd_32.h",
           "AARCH64": "/usr/include/asm-generic/unistd.h"}
MACHINES = {"X86_64": ("x86_64", seccomp.AUDIT_ARCH_X86_64),
            "I386": ("x86_64", seccomp.AUDIT_ARCH_I386),
            "AARCH64": ("aarch64", seccomp.AUDIT_ARCH_AARCH64)}
CAP_SETS = {"default": list(DEFAULT), "+SYS_ADMIN": list(DEFAULT) + ["SYS_ADMIN"],
            "+SYS_PTRACE": list(DEFAULT) + ["SYS_PTRACE"],
            "+SYS_TIME": list(DEFAULT) + ["SYS_TIME"]}
# first arguments that the profile's tests of socket, personality and clone tell apart
ARG0S = (0, 1, 2, 8, 37, 38, 39, 40, 41, 0x20000, 0x20008, 0x40000, 0x01200011, 0x00010000,
         0x10000000, 0x7E020000, 0x80000000, 0xFFFFFFFF)
EPERM, ENOSYS = 1, 38


def header_numbers(table: str) -> dict[str, int]:
    """__NR_name -> number as the header defines it; asm-generic's 64-bit aliases
    (__NR_fcntl __NR3264_fcntl) resolved."""
    text = Path(HEADERS[table]).read_text()
    numbers = {name: int(nr) for name, nr in re.findall(r"#define __NR_(\w+)\s+(\d+)\b", text)}
    generic = {name: int(nr) for name, nr in re.findall(r"#define __NR3264_(\w+)\s+(\d+)", text)}
    for name, target in re.findall(r"#define __NR_(\w+)\s+__NR3264_(\w+)", text):
        if target in generic:  # __NR3264_stat and the like: other machines only
            numbers.setdefault(name, generic[target])
    numbers.pop("syscalls", None)  # asm-generic's count of them
    return numbers


@pytest.mark.parametrize("table", sorted(HEADERS))
def test_numbers_match_the_kernel_headers(table):
    if not Path(HEADERS[table]).exists():
        pytest.skip(f"{HEADERS[table]} is not installed (Debian's linux-libc-dev)")
    defined = header_numbers(table)
    numbers = getattr(seccomp, table)
    assert {name: nr for name, nr in numbers.items() if name in defined} == \
        {name: defined[name] for name in numbers if name in defined}
    # calls newer than the headers (cachestat .. removexattrat, uretprobe) take free numbers
    newer = {name: nr for name, nr in numbers.items() if name not in defined}
    assert not set(newer.values()) & set(defined.values()), newer
    assert len(set(numbers.values())) == len(numbers)
    named = {name for rule in profile.RULES for name in rule.names}
    assert set(numbers) <= named
    if table != "AARCH64":  # asm-generic/unistd.h holds 32-bit machines' names too
        assert named & set(defined) <= set(numbers)


def refused(program: bytes, nr: int, arch=seccomp.AUDIT_ARCH_X86_64, arg0: int = 0) -> int:
    """Run the BPF program on one call; the errno it returns, or 0 when allowed."""
    ops = [struct.unpack("<HBBI", program[i:i + 8]) for i in range(0, len(program), 8)]
    data = {0: nr, 4: arch, 16: arg0 & 0xFFFFFFFF, 20: arg0 >> 32}
    pc, acc = 0, 0
    while True:
        code, jt, jf, k = ops[pc]
        if code == 0x20:
            acc = data[k]
        elif code == 0x54:
            acc &= k
        elif code == 0x05:
            pc += k
        elif code == 0x06:
            return 0 if k == seccomp.ALLOW else k & 0xFFFF
        else:
            taken = {0x15: acc == k, 0x25: acc > k, 0x35: acc >= k, 0x45: bool(acc & k)}[code]
            pc += jt if taken else jf
        pc += 1


def expected(name: str, caps: list[str], machine: str, arg0: int) -> int:
    """The profile read directly, as moby and libseccomp read it: the errno, or 0 when some
    rule in force allows the call."""
    native = {"x86_64": "amd64", "aarch64": "arm64"}[machine]
    held, errnos = set(caps), []
    for rule in profile.RULES:
        if (name not in rule.names or not all(cap in held for cap in rule.caps)
                or any(cap in held for cap in rule.unless_caps)
                or rule.arches and native not in rule.arches):
            continue
        if rule.arg0 is not None:
            low, test = arg0 & 0xFFFFFFFF, rule.arg0
            if not {"lt": low < test.value, "eq": low == test.value, "gt": low > test.value,
                    "masked_eq": low & test.mask == test.value}[test.op]:
                continue
        if not rule.errno:
            return 0
        errnos.append(rule.errno)
    return errnos[0] if errnos else EPERM


@pytest.mark.parametrize("caps", sorted(CAP_SETS))
@pytest.mark.parametrize("table", sorted(MACHINES))
def test_every_call_decided_as_the_profile_says(table, caps):
    machine, arch = MACHINES[table]
    program = seccomp.program(CAP_SETS[caps], machine)
    numbers = getattr(seccomp, table)
    tested = {name for rule in profile.RULES if rule.arg0 is not None for name in rule.names}
    wrong = [(name, hex(arg0)) for name, nr in numbers.items()
             for arg0 in (ARG0S if name in tested else (0, 0x10000000, 0xFFFFFFFF))
             if refused(program, nr, arch, arg0) != expected(name, CAP_SETS[caps], machine, arg0)]
    assert not wrong
    if Path(HEADERS[table]).exists() and table != "AARCH64":  # the calls the profile leaves out
        others = set(header_numbers(table).values()) - set(numbers.values())
        assert {refused(program, nr, arch) for nr in others} == {EPERM}


def test_the_program_decides_like_dockers_profile():
    default = seccomp.program(list(DEFAULT), "x86_64")
    admin = seccomp.program(list(DEFAULT) + ["SYS_ADMIN"], "x86_64")
    x86, i386 = seccomp.X86_64, seccomp.I386
    keyctl = 250  # not in the profile, so not in the tables
    assert refused(default, keyctl) == 1 and refused(admin, keyctl) == 1
    assert refused(default, x86["mount"]) == 1 and refused(admin, x86["mount"]) == 0
    assert refused(default, 0) == 0 and refused(default, 59) == 0  # read, execve
    assert refused(default, x86["clone"], arg0=0x01200011) == 0  # fork's flags
    assert refused(default, x86["clone"], arg0=0x003D0F00) == 0  # a thread's
    assert refused(default, x86["clone"], arg0=0x10000000) == 1  # CLONE_NEWUSER
    assert refused(default, x86["clone"], arg0=0x00020000) == 1  # CLONE_NEWNS
    assert refused(admin, x86["clone"], arg0=0x10000000) == 0
    assert refused(default, x86["clone3"]) == 38  # ENOSYS: the C library falls back to clone
    assert refused(admin, x86["clone3"]) == 0
    assert refused(default, i386["mount"], seccomp.AUDIT_ARCH_I386) == 1
    assert refused(default, 3, seccomp.AUDIT_ARCH_I386) == 0  # i386 read
    assert refused(default, 0x40000000 | 0) == 38  # x32
    assert refused(default, 0, 0x12345) == 1  # an architecture the filter doesn't know
    assert refused(default, 0, seccomp.AUDIT_ARCH_AARCH64) == 1  # nor one of another machine
    assert seccomp.program(list(DEFAULT), "riscv64") is None
    assert seccomp.for_container(list(DEFAULT), privileged=True, confined=True) is None
    assert seccomp.for_container(list(DEFAULT), privileged=False, confined=False) is None


@pytest.mark.parametrize("table", sorted(MACHINES))
def test_what_the_security_review_found(table):
    machine, arch = MACHINES[table]
    program, numbers = seccomp.program(list(DEFAULT), machine), getattr(seccomp, table)
    socket, personality = numbers["socket"], numbers["personality"]
    assert refused(program, socket, arch, arg0=40) == EPERM  # AF_VSOCK
    assert refused(program, socket, arch, arg0=38) == EPERM  # AF_ALG
    assert refused(program, socket, arch, arg0=(1 << 32) | 40) == EPERM  # the kernel reads an int
    for family in (1, 2, 10, 16, 17, 39, 41, 45):  # UNIX, INET, INET6, NETLINK, PACKET, ...
        assert refused(program, socket, arch, arg0=family) == 0
    assert refused(program, personality, arch, arg0=0x0040000) == EPERM  # ADDR_NO_RANDOMIZE
    assert refused(program, personality, arch, arg0=0x0040008) == EPERM
    for persona in (0, 8, 0x20000, 0x20008, 0xFFFFFFFF):
        assert refused(program, personality, arch, arg0=persona) == 0
    assert refused(program, 1000, arch) == ENOSYS  # a number no syscall has yet: see below
    assert refused(program, numbers["clone"], arch, arg0=0x10000000) == EPERM
    assert refused(program, numbers["clone"], arch, arg0=0x01200011) == 0
    assert refused(program, numbers["clone3"], arch) == ENOSYS


@pytest.mark.parametrize("caps", sorted(CAP_SETS))
@pytest.mark.parametrize("table", sorted(MACHINES))
def test_calls_newer_than_the_table_say_enosys(table, caps):
    """As in runc: a call numbered above the newest the table knows is newer than the
    profile, and says ENOSYS (the C library then falls back to an older call); an unknown
    number below it still says EPERM."""
    machine, arch = MACHINES[table]
    program, numbers = seccomp.program(CAP_SETS[caps], machine), getattr(seccomp, table)
    newest = max(numbers.values())
    assert refused(program, newest, arch) == expected(
        next(name for name, nr in numbers.items() if nr == newest), CAP_SETS[caps], machine, 0)
    for nr in (newest + 1, newest + 2, 1000, 0x3FFFFFFF, 0x40000000, 0x7FFFFFFF, 0xFFFFFFFF):
        assert refused(program, nr, arch) == ENOSYS, hex(nr)
    gaps = set(range(newest)) - set(numbers.values())
    assert gaps and {refused(program, nr, arch) for nr in gaps} == {EPERM}


def test_newer_calls_leave_the_other_refusals_as_they_were():
    default = seccomp.program(list(DEFAULT), "x86_64")
    newest = max(seccomp.X86_64.values())
    assert refused(default, 250) == EPERM  # keyctl: known to the kernel, not to the profile
    assert refused(default, 0x40000000 | 0) == ENOSYS  # x32, as before
    assert refused(default, 0x40000000 | (newest + 1)) == ENOSYS
    for arch in (0x12345, seccomp.AUDIT_ARCH_AARCH64):  # architectures this filter doesn't know
        assert refused(default, newest + 1, arch) == EPERM
        assert refused(default, 0xFFFFFFFF, arch) == EPERM
    arm = seccomp.program(list(DEFAULT), "aarch64")
    assert refused(arm, max(seccomp.AARCH64.values()) + 1, seccomp.AUDIT_ARCH_AARCH64) == ENOSYS
    assert refused(arm, 0, seccomp.AUDIT_ARCH_X86_64) == EPERM


def test_capabilities_unlock_their_calls():
    x86 = seccomp.X86_64
    for cap, call in (("SYS_PTRACE", "kcmp"), ("SYS_PTRACE", "pidfd_getfd"),
                      ("SYS_TIME", "settimeofday"), ("SYS_BOOT", "reboot"),
                      ("SYS_MODULE", "finit_module"), ("SYS_PACCT", "acct"),
                      ("SYS_RAWIO", "iopl"), ("SYS_TTY_CONFIG", "vhangup"),
                      ("SYS_NICE", "mbind"), ("SYSLOG", "syslog"), ("SYS_ADMIN", "syslog"),
                      ("BPF", "bpf"), ("PERFMON", "perf_event_open"),
                      ("DAC_READ_SEARCH", "open_by_handle_at")):
        without = [c for c in DEFAULT if c != cap]
        assert refused(seccomp.program(without, "x86_64"), x86[call]) == EPERM, call
        assert refused(seccomp.program(without + [cap], "x86_64"), x86[call]) == 0, call
    # chroot is in docker's default set; dropping SYS_CHROOT takes it away
    assert refused(seccomp.program(list(DEFAULT), "x86_64"), x86["chroot"]) == 0
    no_chroot = [c for c in DEFAULT if c != "SYS_CHROOT"]
    assert refused(seccomp.program(no_chroot, "x86_64"), x86["chroot"]) == EPERM
    # ptrace is allowed on any kernel from 4.8, capability or not
    assert refused(seccomp.program(list(DEFAULT), "x86_64"), x86["ptrace"]) == 0


def test_machine_specific_calls():
    default = seccomp.program(list(DEFAULT), "x86_64")
    assert refused(default, seccomp.X86_64["arch_prctl"]) == 0
    assert refused(default, seccomp.I386["arch_prctl"], seccomp.AUDIT_ARCH_I386) == 0
    assert refused(default, seccomp.I386["modify_ldt"], seccomp.AUDIT_ARCH_I386) == 0
    assert refused(default, seccomp.I386["socketcall"], seccomp.AUDIT_ARCH_I386) == 0
    assert "arch_prctl" not in seccomp.AARCH64 and "modify_ldt" not in seccomp.AARCH64
    assert "uretprobe" in seccomp.X86_64 and "uretprobe" not in seccomp.I386


@pytest.mark.parametrize("machine", ["x86_64", "aarch64"])
@pytest.mark.parametrize("caps", [list(DEFAULT), [], NAMES], ids=["default", "none", "all"])
def test_the_program_is_one_the_kernel_takes(machine, caps):
    """Short, every jump forward and inside it, ending in a return."""
    program = seccomp.program(caps, machine)
    ops = [struct.unpack("<HBBI", program[i:i + 8]) for i in range(0, len(program), 8)]
    assert len(ops) < 4096 and ops[-1][0] == 0x06
    assert {op[0] for op in ops} <= {0x20, 0x54, 0x05, 0x15, 0x25, 0x35, 0x06}
    for pc, (code, jt, jf, k) in enumerate(ops):
        if code == 0x05:
            assert pc + 1 + k < len(ops)
        elif code in (0x15, 0x25, 0x35):
            assert pc + 1 + max(jt, jf) < len(ops)
        elif code == 0x20:
            assert k in (0, 4, 16)


def test_default_program_length():
    assert len(seccomp.program(list(DEFAULT), "x86_64")) // 8 < 1024
    assert len(seccomp.program(list(DEFAULT), "aarch64")) // 8 < 1024
