"""GPU reservations (compose.devices): the host's device nodes a service gets, or an
error naming it; `up` checks them before it creates anything."""
import textwrap

import pytest

from compose import service
from compose.devices import HostGpus, gpu_devices
from compose.errors import ComposeError
from compose.load import LoadOptions, load_project
from tests.compose.fake_backend import FakeBackend

HOST = HostGpus(("/dev/nvidia0", "/dev/nvidia1", "/dev/nvidia2"),
                ("/dev/nvidiactl", "/dev/nvidia-uvm"))


def svc(tmp_path, keys):
    (tmp_path / "compose.yaml").write_text(f"services: {{app: {{image: x, {keys}}}}}\n")
    return load_project(LoadOptions(cwd=str(tmp_path), project_name="demo",
                                    environ={})).services["app"]


@pytest.mark.parametrize("keys, gpus", [
    ("gpus: all", ["/dev/nvidia0", "/dev/nvidia1", "/dev/nvidia2"]),
    ("gpus: [{count: 2}]", ["/dev/nvidia0", "/dev/nvidia1"]),
    ("gpus: [{device_ids: ['2', '0'], driver: nvidia}]", ["/dev/nvidia2", "/dev/nvidia0"]),
    ("deploy: {resources: {reservations: {devices: [{capabilities: [gpu], count: 1}]}}}",
     ["/dev/nvidia0"]),
    ("deploy: {resources: {reservations: {devices: [{capabilities: [gpu]}]}}}",
     ["/dev/nvidia0", "/dev/nvidia1", "/dev/nvidia2"]),
])
def test_gpus_asked_for_and_the_shared_nodes(tmp_path, keys, gpus):
    devices = gpu_devices(svc(tmp_path, keys), HOST)
    assert [d.source for d in devices] == gpus + ["/dev/nvidiactl", "/dev/nvidia-uvm"]
    assert all(d.source == d.target and d.permissions == "rwm" for d in devices)


def test_no_reservation_no_device(tmp_path):
    assert gpu_devices(svc(tmp_path, "init: true"), HOST) == ()


@pytest.mark.parametrize("keys, host, message", [
    ("gpus: all", HostGpus(), "service 'app' asks for GPUs, and this host has none"),
    ("gpus: [{count: 4}]", HOST, "service 'app' asks for 4 GPUs; this host has 3"),
    ("gpus: [{device_ids: ['GPU-uuid']}]", HOST, "asks for GPU 'GPU-uuid'; this host has 3"),
    ("gpus: [{driver: amd}]", HOST, "device driver 'amd' is not supported"),
    ("deploy: {resources: {reservations: {devices: [{capabilities: [tpu]}]}}}", HOST,
     "device capability 'tpu' is not supported"),
])
def test_what_the_host_can_not_give(tmp_path, keys, host, message):
    with pytest.raises(ComposeError, match=message):
        gpu_devices(svc(tmp_path, keys), host)


def test_up_fails_before_creating_anything_on_a_host_without_gpus(tmp_path):
    (tmp_path / "compose.yaml").write_text(textwrap.dedent("""
        services:
          db: {image: busybox}
          trainer: {image: busybox, gpus: all, depends_on: [db]}
    """))
    project = load_project(LoadOptions(cwd=str(tmp_path), project_name="demo", environ={}))
    fake = FakeBackend().has_image("busybox")
    with pytest.raises(ComposeError, match="service 'trainer' asks for GPUs, and this host has "
                                           "none"):
        service.up(project, fake)
    assert fake.changes() == []
    fake.gpus = HOST
    service.up(project, fake)
    assert "start demo-trainer-1" in fake.changes()
