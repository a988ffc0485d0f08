"""Fixtures for tests that run real containers: a private BERTH_ROOT, a busybox image,
and a check that every test leaves no container, mount, cgroup or process behind."""
import os

import pytest

from runtime.containers import Containers
from runtime.images import archive
from runtime.network.api import Networks
from runtime.paths import Paths
from runtime.state import monitor_alive
from tests.helpers import (busybox_rootfs, cgroup_dirs, mounts_under, remove_all, run_berth,
                           wait_for)


@pytest.fixture(scope="session")
def busybox_dir(tmp_path_factory):
    return busybox_rootfs(tmp_path_factory.mktemp("busybox") / "rootfs")


@pytest.fixture
def engine(tmp_path):
    paths = Paths(tmp_path / "root", tmp_path / "run")
    api = Containers(paths)
    yield api
    # tidy up everything first, then check that nothing was left behind
    containers = api.list()
    nets = Networks(paths)
    bridges = [net.bridge for net in nets.list()]
    try:
        for container in containers:
            api.remove(container.id, force=True)
    finally:
        for net in nets.list():
            nets.remove(net.name)
    assert not mounts_under(tmp_path), mounts_under(tmp_path)
    for container in containers:
        assert not cgroup_dirs(container.id), cgroup_dirs(container.id)
    assert not any(monitor_alive(c.state) for c in containers)
    assert not list((paths.run / "netns").iterdir())
    assert not [b for b in bridges if os.path.exists(f"/sys/class/net/{b}")]
    wait_for(lambda: not dns_server_running(paths), timeout=5)


def dns_server_running(paths) -> bool:
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as handle:
                    cmdline = handle.read()
            except OSError:
                continue
            if b"dnsserver" in cmdline and str(paths.run).encode() in cmdline:
                return True
    return False


@pytest.fixture
def busybox(engine, busybox_dir):
    return archive.import_rootfs(engine.images, str(busybox_dir), ["busybox"])


@pytest.fixture
def cli_env(tmp_path, busybox_dir):
    """A BERTH_ROOT of the test's own holding a busybox image, for the command line;
    its containers and networks are removed afterwards."""
    env = {"BERTH_ROOT": str(tmp_path / "root")}
    run_berth("image", "import", str(busybox_dir), "busybox", "-c", 'CMD ["sh"]', env=env,
              check=True)
    yield env
    remove_all(env)
