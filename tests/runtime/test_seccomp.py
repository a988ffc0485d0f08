"""The seccomp filter's tables and program (the filter at work: test_containers)."""
import re
import struct
from pathlib import Path

import pytest

from runtime import seccomp
from runtime.capabilities import DEFAULT

HEADERS = {"X86_64": "/usr/include/x86_64-linux-gnu/asm/unistd_64.h",
           "I386": "/usr/include/x86_64-linux-gnu/asm/unistd_32.h",
           "AARCH64": "/usr/include/asm-generic/unistd.h"}


@pytest.mark.parametrize("table", sorted(HEADERS))
def test_numbers_match_the_kernel_headers(table):
    header = Path(HEADERS[table])
    if not header.exists():
        pytest.skip(f"{header} is not installed (Debian's linux-libc-dev)")
    defined = {name: int(nr) for name, nr in
               re.findall(r"#define __NR_(\w+)\s+(\d+)", header.read_text())}
    numbers = getattr(seccomp, table)
    assert numbers == {name: defined[name] for name in numbers}
    assert set(seccomp.RULES) | {"clone", "clone3"} >= set(numbers)


def refused(program: bytes, nr: int, arch=seccomp.AUDIT_ARCH_X86_64, arg0: int = 0) -> int:
    """Run the BPF program on one call; the errno it returns, or 0 when allowed."""
    ops = [struct.unpack("<HBBI", program[i:i + 8]) for i in range(0, len(program), 8)]
    data = {0: nr, 4: arch, 16: arg0}
    pc, acc = 0, 0
    while True:
        code, jt, jf, k = ops[pc]
        if code == 0x20:
            acc = data[k]
        elif code == 0x06:
            return 0 if k == seccomp.ALLOW else k & 0xFFFF
        else:
            taken = {0x15: acc == k, 0x35: acc >= k, 0x45: bool(acc & k)}[code]
            pc += jt if taken else jf
        pc += 1


def test_the_program_decides_like_dockers_profile():
    default = seccomp.program(list(DEFAULT), "x86_64")
    admin = seccomp.program(list(DEFAULT) + ["SYS_ADMIN"], "x86_64")
    x86, i386 = seccomp.X86_64, seccomp.I386
    assert refused(default, x86["keyctl"]) == 1 and refused(admin, x86["keyctl"]) == 1
    assert refused(default, x86["mount"]) == 1 and refused(admin, x86["mount"]) == 0
    assert refused(default, 0) == 0 and refused(default, 59) == 0  # read, execve
    assert refused(default, x86["clone"], arg0=0x01200011) == 0  # fork's flags
    assert refused(default, x86["clone"], arg0=0x10000000) == 1  # CLONE_NEWUSER
    assert refused(admin, x86["clone"], arg0=0x10000000) == 0
    assert refused(default, x86["clone3"]) == 38  # ENOSYS: the C library falls back to clone
    assert refused(default, i386["mount"], seccomp.AUDIT_ARCH_I386) == 1
    assert refused(default, 3, seccomp.AUDIT_ARCH_I386) == 0  # i386 read
    assert refused(default, 0x40000000 | 0) == 38  # x32
    assert refused(default, 0, 0x12345) == 1  # an architecture the filter doesn't know
    assert seccomp.program(list(DEFAULT), "riscv64") is None
    assert seccomp.for_container(list(DEFAULT), privileged=True, confined=True) is None
    assert seccomp.for_container(list(DEFAULT), privileged=False, confined=False) is None
