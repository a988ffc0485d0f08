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


def test_a_device_node_shipped_in_an_image_cannot_be_opened(engine, busybox, tmp_path):
    """docker's device rules hold whatever nodes an image brings: on cgroup v1 through the
    devices controller, on v2 through berth's eBPF program (which
    tests/runtime/test_devicefilter.py also attaches to this kernel's cgroup2 hierarchy)."""
    from runtime.images.build import Builder, BuildOptions

    (tmp_path / "Dockerfile").write_text("FROM busybox\nRUN mknod /disk b 8 0 && mknod /mem c 1 1\n")
    image = Builder(engine, output=lambda line: None).build(BuildOptions(context=str(tmp_path)))
    c = engine.create(image, RunOptions(command=[
        "sh", "-c", "for f in /disk /mem /dev/null; do head -c 1 $f >/dev/null 2>&1 "
                    "&& echo $f:open || echo $f:refused; done"]))
    engine.start(c.id)
    engine.wait(c.id)
    out = "".join(line.text for line in engine.logs(c.id)).split()
    assert out == ["/disk:refused", "/mem:refused", "/dev/null:open"]
