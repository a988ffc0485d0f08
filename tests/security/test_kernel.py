"""What a container's processes may ask of the kernel: docker's seccomp profile, probed
from inside a real container (the filter's tables: tests/runtime/test_seccomp.py)."""
import json
import sys

import pytest

from runtime.create import RunOptions
from tests.helpers import python_mounts

pytestmark = pytest.mark.privileged

PROBE = """
import ctypes, errno, json, socket
libc = ctypes.CDLL(None, use_errno=True)
out = {}
def call(name, fn):
    try:
        fn()
        out[name] = 0
    except OSError as err:
        out[name] = err.errno
call("vsock", lambda: socket.socket(40, socket.SOCK_STREAM).close())
call("inet", lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM).close())
for name, persona in (("no_randomize", 0x0040000), ("query", 0xffffffff)):
    result = libc.personality(ctypes.c_ulong(persona))
    out[name] = ctypes.get_errno() if result == -1 else 0
print(json.dumps(out))
"""


def probe(engine, image, **options) -> dict:
    c = engine.create(image, RunOptions(command=[sys.executable, "-c", PROBE],
                                        mounts=python_mounts(), **options))
    engine.start(c.id)
    engine.wait(c.id)
    return json.loads("".join(line.text for line in engine.logs(c.id)))


def test_calls_docker_s_profile_refuses_are_refused_in_a_container(engine, busybox):
    confined = probe(engine, busybox)
    assert confined["vsock"] == 1  # EPERM: AF_VSOCK would reach the hypervisor's host
    assert confined["no_randomize"] == 1  # EPERM: ASLR stays on
    assert confined["inet"] == 0 and confined["query"] == 0  # what the profile allows
    unconfined = probe(engine, busybox, seccomp=False)  # control: the filter decides
    assert unconfined["no_randomize"] == 0 and unconfined["vsock"] != 1
