"""Fixtures for the tests that drive real projects through the CLI."""
import json
import os
import textwrap

import pytest

from runtime.containers import Containers
from runtime.images import archive
from runtime.network.api import Networks
from runtime.paths import Paths
from tests.helpers import busybox_rootfs, run_berth


@pytest.fixture(scope="session")
def busybox_dir(tmp_path_factory):
    return busybox_rootfs(tmp_path_factory.mktemp("busybox-up") / "rootfs")


class Stack:
    """A project directory with its own BERTH_ROOT; cleans everything up at the end."""

    def __init__(self, tmp_path, busybox_dir):
        self.dir = tmp_path / "proj"
        self.dir.mkdir()
        self.root = tmp_path / "root"
        self.env = {"BERTH_ROOT": str(self.root)}
        self.paths = Paths(self.root, self.root / "run")
        archive.import_rootfs(Containers(self.paths).images, str(busybox_dir), ["busybox"])

    def write(self, text, name="compose.yaml"):
        (self.dir / name).write_text(textwrap.dedent(text))

    def berth(self, *args, check=True, **kw):
        return run_berth(*args, cwd=self.dir, env=self.env, check=check, **kw)

    def ps(self, *args):
        out = self.berth("ps", "-a", "--format", "json", *args).stdout
        return {c["Name"]: c for c in map(json.loads, out.splitlines())}

    def cleanup(self) -> list[str]:
        """Remove whatever is left; return the bridges that existed."""
        api = Containers(self.paths)
        for c in api.list():
            api.remove(c.id, force=True)
        nets = Networks(self.paths)
        bridges = [n.bridge for n in nets.list()]
        for n in nets.list():
            nets.remove(n.name)
        return bridges


@pytest.fixture
def stack(tmp_path, busybox_dir):
    s = Stack(tmp_path, busybox_dir)
    yield s
    bridges = s.cleanup()
    assert not [b for b in bridges if os.path.exists(f"/sys/class/net/{b}")]
