"""The example stacks really run."""
import os
import subprocess
import sys
import urllib.request

import pytest

from runtime.containers import Containers
from runtime.network.api import Networks
from runtime.paths import Paths
from tests.helpers import REPO, free_port, run_berth, wait_for

pytestmark = pytest.mark.privileged


def test_hello_stack(tmp_path):
    port = free_port()
    env = {"BERTH_ROOT": str(tmp_path / "root"), "HELLO_PORT": str(port)}
    full = dict(os.environ, **env, PYTHONPATH=str(REPO), BERTH=f"{sys.executable} -m compose")
    subprocess.run([str(REPO / "stacks" / "busybox-image")], env=full, check=True,
                   capture_output=True)
    stack = REPO / "stacks" / "hello"
    try:
        run_berth("up", "-d", "--wait", cwd=stack, env=env, check=True)
        url = f"http://127.0.0.1:{port}/cgi-bin/visit"
        first = urllib.request.urlopen(url, timeout=5).read().decode()
        second = urllib.request.urlopen(url, timeout=5).read().decode()
        assert first.strip() == "visits: 1" and second.strip() == "visits: 2"
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read().decode()
        assert "Hello from berth" in page
        # the worker reports what it asked api, by name, every few seconds
        wait_for(lambda: "worker-1  | visits so far: " in run_berth(
            "logs", "worker", cwd=stack, env=env, check=True).stdout)
    finally:
        run_berth("down", "-v", "-t", "1", cwd=stack, env=env)
    paths = Paths.from_env(env)
    assert not Containers(paths).list() and not Networks(paths).list()


@pytest.mark.skipif(not os.path.exists("/usr/sbin/debootstrap"), reason="needs debootstrap")
def test_debian_stack_built_by_berth(tmp_path):
    """berth bootstraps Debian, builds the app image on it, and runs it."""
    port = free_port()
    env = {"BERTH_ROOT": str(tmp_path / "root"), "APP_PORT": str(port)}
    stack = REPO / "stacks" / "debian-web"
    run_berth("image", "bootstrap", "debian:bookworm", env=env, check=True, timeout=900)
    try:
        run_berth("up", "-d", "--wait", "--wait-timeout", "120", cwd=stack, env=env, check=True,
                  timeout=900)
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read().decode()
        assert '"hello": "from berth on Debian"' in body and '"user": 0' not in body
        assert '"visits": 1' in body  # counted by the redis of the cache service
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read().decode()
        assert '"visits": 2' in body
        out = run_berth("up", "-d", "--build", cwd=stack, env=env, check=True)
        assert out.stderr.count("CACHED") >= 5  # an unchanged rebuild is all cache
    finally:
        run_berth("down", "-t", "1", cwd=stack, env=env)
    assert not Containers(Paths.from_env(env)).list()
