"""The cgroup v2 device filter: rules -> eBPF program (run here through a tiny interpreter),
its load and attach as calls, and (privileged) the program on a real cgroup2 cgroup."""
from __future__ import annotations

import errno
import json
import os
import stat
import struct
import uuid

import pytest

from runtime import capabilities, cgroups
from runtime.cgroups import devicefilter as df
from runtime.cgroups import v1
from runtime.cgroups.v1 import V1
from runtime.cgroups.v2 import V2, DeviceFilterError, filter_devices
from runtime.spec import Resources
from tests.helpers import cgroup2_mount, remove_cgroup
from runtime.syscalls import (BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI,
                              BPF_PROG_TYPE_CGROUP_DEVICE, RecordingSyscalls, Syscalls)

CHAR, BLOCK = df.DEV_CHAR, df.DEV_BLOCK
R, W, M = df.ACC_READ, df.ACC_WRITE, df.ACC_MKNOD
U32, U64 = (1 << 32) - 1, (1 << 64) - 1


# --- a tiny eBPF interpreter: only the opcodes devicefilter emits ---------------------------

def decode(code: bytes) -> list[tuple[int, int, int, int, int]]:
    assert len(code) % 8 == 0
    out = []
    for i in range(0, len(code), 8):
        op, regs, off, imm = struct.unpack("<BBhi", code[i:i + 8])
        out.append((op, regs & 0xF, regs >> 4, off, imm))
    return out


def check_shape(insns: list[tuple]) -> None:
    """What the verifier would refuse: jumps out of range or backwards, and instructions
    no path reaches; every path ends in exit."""
    reached, todo = set(), [0]
    while todo:
        pc = todo.pop()
        if pc in reached:
            continue
        assert 0 <= pc < len(insns), f"falls off at {pc}"
        reached.add(pc)
        op, _, _, off, _ = insns[pc]
        if op == df.JMP_EXIT:
            continue
        if op in (df.JMP_JNE_K, df.JMP_JNE_X):
            assert off >= 0
            todo.append(pc + 1 + off)
        todo.append(pc + 1)
    assert reached == set(range(len(insns))), f"unreachable: {set(range(len(insns))) - reached}"


def run(code: bytes, kind: int, major: int, minor: int, access: int) -> int:
    insns = decode(code)
    check_shape(insns)
    ctx = struct.pack("<III", (access << 16) | kind, major, minor)
    regs: dict[int, int | str] = {df.R1: "ctx"}

    def reg(n: int) -> int:
        value = regs[n]  # KeyError: reading a register never written
        assert isinstance(value, int)
        return value

    pc = 0
    while True:
        op, dst, src, off, imm = insns[pc]
        pc += 1
        if op == df.LDX_MEM_W:
            assert regs[src] == "ctx" and off in (0, 4, 8)
            regs[dst] = struct.unpack_from("<I", ctx, off)[0]
        elif op == df.ALU32_AND_K:
            regs[dst] = reg(dst) & imm & U32
        elif op == df.ALU32_RSH_K:
            regs[dst] = (reg(dst) & U32) >> imm
        elif op == df.ALU32_MOV_K:
            regs[dst] = imm & U32
        elif op == df.ALU32_MOV_X:
            regs[dst] = reg(src) & U32
        elif op == df.JMP_JNE_K:
            if reg(dst) != imm & U64:  # imm is sign-extended to 64 bits
                pc += off
        elif op == df.JMP_JNE_X:
            if reg(dst) != reg(src):
                pc += off
        elif op == df.JMP_EXIT:
            return reg(df.R0)
        else:
            raise AssertionError(f"opcode {op:#x} not expected")


def allowed(rules, kind, major, minor, access) -> bool:
    code = df.program([df.parse_rule(r) if isinstance(r, str) else r for r in rules])
    verdict = run(code, kind, major, minor, access)
    assert verdict in (0, 1)
    return verdict == 1


# --- pure: the program's decisions ------------------------------------------------------

DEFAULT = df.DEVICE_RULES


@pytest.mark.parametrize("kind, major, minor, access, expected", [
    (CHAR, 1, 3, R | W, True),  # /dev/null rw
    (CHAR, 1, 3, R, True),
    (CHAR, 1, 9, R, True),  # urandom
    (CHAR, 5, 2, R | W, True),  # ptmx
    (CHAR, 136, 0, R | W, True),  # pts/0
    (CHAR, 136, 4711, R | W, True),
    (CHAR, 10, 200, R | W, True),  # tun
    (CHAR, 8, 0, M, True),  # mknod of anything
    (BLOCK, 8, 0, M, True),
    (BLOCK, 254, 0, M, True),
    (BLOCK, 8, 0, R, False),  # a host disk
    (BLOCK, 8, 0, W, False),
    (BLOCK, 8, 0, R | W, False),
    (BLOCK, 7, 0, R, False),  # loop0
    (CHAR, 1, 1, R, False),  # /dev/mem
    (CHAR, 10, 229, R | W, False),  # fuse: not in the default list
    (CHAR, 4242, 1, R, False),  # unknown
    (BLOCK, 1, 3, R, False),  # /dev/null's numbers, but a block device
    (CHAR, 137, 0, R, False),  # next to pts
    (CHAR, 8, 0, M | R, False),  # mknod-only rule doesn't cover read
])
def test_default_rules(kind, major, minor, access, expected):
    assert allowed(DEFAULT, kind, major, minor, access) is expected


def test_a_containers_own_devices_are_allowed_too():
    rules = (*DEFAULT, "c 10:229 rwm", "b 7:0 r")
    assert allowed(rules, CHAR, 10, 229, R | W)
    assert allowed(rules, BLOCK, 7, 0, R)
    assert not allowed(rules, BLOCK, 7, 0, R | W)  # r only
    assert not allowed(rules, BLOCK, 7, 1, R)
    assert not allowed(rules, BLOCK, 8, 0, R)


def test_last_matching_rule_wins_and_default_deny():
    assert not allowed([], CHAR, 1, 3, R)
    deny_null = [*DEFAULT, df.parse_rule("c 1:3 rwm", allow=False)]
    assert not allowed(deny_null, CHAR, 1, 3, R)
    assert allowed(deny_null, CHAR, 1, 5, R)
    reallow = [df.parse_rule("c 1:* rwm", allow=False), "c 1:3 rw"]
    assert allowed(reallow, CHAR, 1, 3, R | W)
    assert not allowed(reallow, CHAR, 1, 3, M)


def test_a_rule_matching_everything_ends_the_program():
    everything = [*DEFAULT, "a"]  # the rules before it can't run: the verifier refuses
    insns = df.instructions(df.parse_rule(r) for r in everything)  # unreachable code
    assert len(insns) == len(df.PROLOGUE) + 2
    assert allowed(everything, BLOCK, 8, 0, R | W)
    assert allowed(["a *:* rwm"], CHAR, 4242, 1, R)
    assert not allowed(["a *:* r"], CHAR, 4242, 1, W)
    assert allowed(["a 1:3 rw"], BLOCK, 1, 3, R)


def test_rules_render_as_v1_lines_and_bad_ones_are_refused():
    assert [str(df.parse_rule(r)) for r in DEFAULT] == list(DEFAULT)
    assert str(df.parse_rule("a")) == "a *:* rwm"
    for bad in ("c 1:3", "x 1:3 rwm", "c 1 rwm", "c 1:3 rwx", "c -1:3 r", "c 1:3 ",
                f"c {1 << 31}:0 r"):
        with pytest.raises(df.RuleError):
            df.parse_rule(bad)


def test_encoding():
    assert df.insn(df.LDX_MEM_W, df.R2, df.R1, 4, 0) == bytes([0x61, 0x12, 4, 0, 0, 0, 0, 0])
    assert df.insn(df.JMP_JNE_K, df.R4, 0, 3, 136) == bytes([0x55, 0x04, 3, 0, 136, 0, 0, 0])
    assert df.insn(df.JMP_EXIT) == bytes([0x95, 0, 0, 0, 0, 0, 0, 0])
    assert len(df.program([df.parse_rule(r) for r in DEFAULT])) % 8 == 0


# --- cgroup writers and calls -------------------------------------------------------------

def test_v2_create_loads_and_attaches_the_filter(tmp_path):
    (tmp_path / "cgroup.controllers").write_text("")
    (tmp_path / "cgroup.subtree_control").write_text("")
    sys = RecordingSyscalls()
    V2(str(tmp_path / "berth-x"), str(tmp_path), sys).create(Resources(),
                                                            [*DEFAULT, "c 10:229 rwm"])
    load, attach = sys.calls
    rules = [df.parse_rule(r) for r in (*DEFAULT, "c 10:229 rwm")]
    assert load == ("bpf_prog_load", BPF_PROG_TYPE_CGROUP_DEVICE, df.program(rules),
                    "Apache-2.0", "berth_devices")
    assert attach == ("bpf_prog_attach", str(tmp_path / "berth-x" / "container"),
                      BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI)


def test_a_filter_the_kernel_refuses_is_a_clear_error(tmp_path):
    class NoCgroupBpf(Syscalls):
        def bpf_prog_load(self, prog_type, insns, license, name=""):
            raise OSError(errno.EINVAL, "bpf(BPF_PROG_LOAD): Invalid argument")

    with pytest.raises(DeviceFilterError, match="cannot limit the container's devices .*"
                       "BPF_PROG_LOAD.*Invalid argument"):
        filter_devices(str(tmp_path), DEFAULT, NoCgroupBpf())
    with pytest.raises(df.RuleError):
        filter_devices(str(tmp_path), ["c 1:3 rwx"], RecordingSyscalls())


def test_v1_allows_a_containers_devices_too(tmp_path):
    (tmp_path / "devices" / "berth-x").mkdir(parents=True)
    allow = tmp_path / "devices" / "berth-x" / "devices.allow"
    allow.write_text("")
    (tmp_path / "devices" / "berth-x" / "devices.deny").write_text("")
    V1("berth-x", {"devices": str(tmp_path / "devices")}).create(Resources(),
                                                                 [*DEFAULT, "c 10:229 rw"])
    assert allow.read_text() == "c 10:229 rw"  # each write replaces the file: the last rule


def test_device_rules_from_a_containers_devices(tmp_path):
    assert cgroups.device_rules([["/dev/null", "/dev/x", "rw"], ["/dev/zero", "/dev/z", ""]]) \
        == [*DEFAULT, "c 1:3 rw", "c 1:5 rwm"]
    (tmp_path / "file").write_text("")
    assert cgroups.device_rules([[str(tmp_path / "file"), "/f", "rwm"]]) == list(DEFAULT)
    with pytest.raises(ValueError, match="device /nonexistent"):
        cgroups.device_rules([["/nonexistent", "/dev/x", "rwm"]])
    with pytest.raises(ValueError, match="device /nonexistent"):
        cgroups.device_rules([["/nonexistent", "/dev/x", "rwm"]], privileged=True)


# --- privileged containers: every device, as docker's "a *:* rwm" -------------------------

def test_a_privileged_container_may_use_every_device():
    rules = cgroups.device_rules([["/dev/null", "/dev/x", "rw"]], privileged=True)
    assert rules == ["a"] and str(df.parse_rule(rules[0])) == "a *:* rwm"
    for kind, major, minor in ((BLOCK, 8, 0), (BLOCK, 7, 0), (CHAR, 1, 1), (CHAR, 10, 229)):
        for access in (R, W, M, R | W | M):
            assert allowed(rules, kind, major, minor, access)
    assert not allowed(cgroups.device_rules([]), BLOCK, 8, 0, R)  # the others: as before
    assert cgroups.device_rules([]) == list(DEFAULT)


def test_v2_loads_the_allow_all_program_for_a_privileged_container(tmp_path):
    (tmp_path / "cgroup.controllers").write_text("")
    (tmp_path / "cgroup.subtree_control").write_text("")
    sys = RecordingSyscalls()
    V2(str(tmp_path / "berth-x"), str(tmp_path), sys).create(
        Resources(), cgroups.device_rules([], privileged=True))
    load, _attach = sys.calls
    code = load[2]
    assert code == df.program([df.parse_rule("a")])
    assert len(decode(code)) == len(df.PROLOGUE) + 2  # allow, exit: nothing is checked
    assert run(code, BLOCK, 8, 0, R) == 1
    assert run(code, CHAR, 1, 1, R | W) == 1


def test_v1_allows_every_device_to_a_privileged_container(tmp_path, monkeypatch):
    directory = tmp_path / "devices" / "berth-x"
    directory.mkdir(parents=True)
    for name in ("devices.allow", "devices.deny"):
        (directory / name).write_text("")
    writes = []
    monkeypatch.setattr(v1, "_write", lambda path, value: writes.append((path, value)))
    V1("berth-x", {"devices": str(tmp_path / "devices")}).create(
        Resources(), cgroups.device_rules([], privileged=True))
    assert writes == [(str(directory / "devices.deny"), "a"),
                      (str(directory / "devices.allow"), "a")]
    writes.clear()
    V1("berth-x", {"devices": str(tmp_path / "devices")}).create(
        Resources(), cgroups.device_rules([]))
    assert writes == [(str(directory / "devices.deny"), "a"),
                      *((str(directory / "devices.allow"), rule) for rule in DEFAULT)]


def test_mknod_is_kept_wherever_devices_are_filtered(monkeypatch):
    monkeypatch.setattr(cgroups, "is_v2", lambda root=cgroups.CGROUP_ROOT: True)
    assert cgroups.filters_devices()  # v2: the eBPF filter, or no start at all
    monkeypatch.setattr(cgroups, "is_v2", lambda root=cgroups.CGROUP_ROOT: False)
    monkeypatch.setattr(v1, "mounts", lambda: {"devices": "/sys/fs/cgroup/devices"})
    assert cgroups.filters_devices()
    monkeypatch.setattr(v1, "mounts", lambda: {"memory": "/sys/fs/cgroup/memory"})
    assert not cgroups.filters_devices()
    assert "MKNOD" in capabilities.container_caps([], [], False, device_filter=True)


# --- the real kernel ----------------------------------------------------------------------

def in_cgroup(path: str, tries) -> dict:
    """Fork a child that joins the cgroup at `path`, runs `tries(report)` and reports back."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            os.close(read_end)
            with open(os.path.join(path, "cgroup.procs"), "w") as handle:
                handle.write(str(os.getpid()))
            results: dict = {}
            tries(results)
            os.write(write_end, json.dumps(results).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as handle:
        data = handle.read()
    os.waitpid(pid, 0)
    return json.loads(data)


def errno_of(action) -> int:
    try:
        action()
        return 0
    except OSError as err:
        return err.errno


def open_close(path: str, flags: int) -> None:
    os.close(os.open(path, flags))


@pytest.mark.privileged
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
@pytest.mark.parametrize("rules", [
    [], DEFAULT, [*DEFAULT, "c 10:229 rwm", "b 7:0 r"], [*DEFAULT, "a"], ["a *:* r"],
    [df.parse_rule("c 1:* rwm", allow=False), "c 1:3 rw"], list(df.PRIVILEGED_RULES),
])
def test_the_kernels_verifier_takes_the_programs(rules):
    code = df.program([df.parse_rule(r) if isinstance(r, str) else r for r in rules])
    os.close(Syscalls().bpf_prog_load(BPF_PROG_TYPE_CGROUP_DEVICE, code, "Apache-2.0", "t"))


@pytest.mark.privileged
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
def test_the_filter_on_a_real_cgroup(tmp_path):
    mount = cgroup2_mount()
    if mount is None:
        pytest.skip("no cgroup2 hierarchy mounted")
    path = os.path.join(mount, f"berth-test-devicefilter-{uuid.uuid4().hex[:8]}")
    os.mkdir(path)
    try:
        filter_devices(path, (*DEFAULT, "b 7:1 r"))
        disk, loop1, mem = (str(tmp_path / n) for n in ("disk", "loop1", "mem"))
        os.mknod(mem, stat.S_IFCHR | 0o600, os.makedev(1, 1))

        def tries(report: dict) -> None:
            report["null"] = errno_of(lambda: open_close("/dev/null", os.O_WRONLY))
            report["mknod"] = errno_of(
                lambda: os.mknod(disk, stat.S_IFBLK | 0o600, os.makedev(8, 0)))
            report["disk"] = errno_of(lambda: open_close(disk, os.O_RDONLY))
            report["mem"] = errno_of(lambda: open_close(mem, os.O_RDONLY))
            os.mknod(loop1, stat.S_IFBLK | 0o600, os.makedev(7, 1))
            report["loop1"] = errno_of(lambda: open_close(loop1, os.O_RDONLY))
            report["loop1 rw"] = errno_of(lambda: open_close(loop1, os.O_RDWR))

        report = in_cgroup(path, tries)
        # the device check happens at open, before the driver: EPERM, whatever the device
        assert report == {"null": 0, "mknod": 0, "disk": errno.EPERM, "mem": errno.EPERM,
                          "loop1": report["loop1"], "loop1 rw": errno.EPERM}
        assert report["loop1"] != errno.EPERM  # allowed: opens, or the driver answers
        # the test process itself (not in the cgroup) is not filtered
        assert errno_of(lambda: open_close(disk, os.O_RDONLY)) != errno.EPERM
    finally:
        remove_cgroup(path)
    assert not os.path.exists(path)



@pytest.mark.privileged
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
def test_a_privileged_containers_filter_on_a_real_cgroup(tmp_path):
    mount = cgroup2_mount()
    if mount is None:
        pytest.skip("no cgroup2 hierarchy mounted")
    path = os.path.join(mount, f"berth-test-devicefilter-{uuid.uuid4().hex[:8]}")
    os.mkdir(path)
    try:
        filter_devices(path, cgroups.device_rules([], privileged=True))
        disk, mem = str(tmp_path / "disk"), str(tmp_path / "mem")

        def tries(report: dict) -> None:
            report["mknod"] = errno_of(
                lambda: os.mknod(disk, stat.S_IFBLK | 0o600, os.makedev(8, 0)))
            report["disk"] = errno_of(lambda: open_close(disk, os.O_RDONLY))
            os.mknod(mem, stat.S_IFCHR | 0o600, os.makedev(1, 1))
            report["mem"] = errno_of(lambda: open_close(mem, os.O_RDONLY))

        report = in_cgroup(path, tries)
        # allowed: each opens, or its driver answers (no such disk, no /dev/mem here)
        assert report["mknod"] == 0
        assert errno.EPERM not in (report["disk"], report["mem"]), report
    finally:
        remove_cgroup(path)
    assert not os.path.exists(path)


@pytest.mark.privileged
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
@pytest.mark.parametrize("privileged", [False, True])
def test_a_privileged_containers_v1_devices_cgroup(tmp_path, privileged):
    hierarchy = v1.mounts().get("devices")
    if hierarchy is None:
        pytest.skip("no cgroup v1 devices hierarchy")
    name = f"berth-test-devices-{uuid.uuid4().hex[:8]}"
    group = V1(name, {"devices": hierarchy})
    try:
        group.create(Resources(), cgroups.device_rules([], privileged))
        disk = str(tmp_path / "disk")

        def tries(report: dict) -> None:
            os.mknod(disk, stat.S_IFBLK | 0o600, os.makedev(8, 0))
            report["disk"] = errno_of(lambda: open_close(disk, os.O_RDONLY))

        report = in_cgroup(os.path.join(hierarchy, name), tries)
        assert (report["disk"] == errno.EPERM) is not privileged
    finally:
        group.destroy()
    assert not os.path.exists(os.path.join(hierarchy, name))
