"""berth watch: sync, delete, rebuild, sync+restart, sync+exec, and bad input."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request

import pytest

from tests.compose.conftest import Stack
from tests.helpers import REPO, free_port, wait_for

pytestmark = pytest.mark.privileged

DOCKERFILE = 'FROM busybox\nCOPY html /www\nCMD ["httpd", "-f", "-p", "80", "-h", "/www"]\n'


@pytest.fixture
def project(tmp_path, busybox_dir):
    stack = Stack(tmp_path, busybox_dir)
    (stack.dir / "html").mkdir()
    (stack.dir / "html" / "index.html").write_text("v1\n")
    (stack.dir / "Dockerfile").write_text(DOCKERFILE)
    stack.port = free_port()
    yield stack
    stack.cleanup()


def compose(stack, rules: str, user: str = "nobody"):
    stack.write(f"""
        services:
          web:
            build: .
            init: true
            user: {user}
            ports: ["127.0.0.1:{stack.port}:80"]
            develop:
              watch:
    """ + textwrap.indent(textwrap.dedent(rules), " " * 16))


class Watch:
    def __init__(self, stack, *args):
        env = dict(os.environ, **stack.env, PYTHONPATH=str(REPO))
        self.proc = subprocess.Popen([sys.executable, "-m", "compose", "watch", *args],
                                     cwd=stack.dir, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        self.reader = threading.Thread(target=lambda: self.lines.extend(self.proc.stdout),
                                       daemon=True)
        self.reader.start()

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def stop(self) -> str:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.reader.join(timeout=5)
        return self.output


def get(port, path="/"):
    try:
        return urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2).read().decode()
    except OSError as err:
        return f"error: {err}"


def test_sync_delete_and_rebuild(project):
    compose(project, """
        - {path: ./html, action: sync, target: /www}
        - {path: ./Dockerfile, action: rebuild}
    """)
    watch = Watch(project)
    try:
        wait_for(lambda: get(project.port) == "v1\n", timeout=30)
        started = time.monotonic()
        (project.dir / "html" / "index.html").write_text("v2\n")
        wait_for(lambda: get(project.port) == "v2\n", timeout=5)
        assert time.monotonic() - started < 1.0
        (project.dir / "html" / "new.html").write_text("new\n")
        wait_for(lambda: get(project.port, "/new.html") == "new\n", timeout=5)
        owner = project.berth("exec", "-T", "web", "stat", "-c", "%u", "/www/new.html").stdout
        assert owner.strip() == "65534"  # the container's user owns synced files
        (project.dir / "html" / "new.html").unlink()
        wait_for(lambda: "404" in get(project.port, "/new.html"), timeout=5)
        first = project.ps()["proj-web-1"]["ID"]
        (project.dir / "Dockerfile").write_text(DOCKERFILE + "LABEL changed=yes\n")
        wait_for(lambda: "Rebuilt and recreated service 'web'" in watch.output, timeout=30)
        assert project.ps()["proj-web-1"]["ID"] != first
        wait_for(lambda: get(project.port) == "v2\n", timeout=10)
    finally:
        out = watch.stop()
    assert "Synced service 'web'" in out and "Rebuilt and recreated service 'web'" in out


def test_sync_restart_and_exec(project):
    compose(project, """
        - {path: ./html, action: sync+restart, target: /www}
        - path: ./conf
          action: sync+exec
          target: /conf
          exec: {command: [sh, -c, "cat /conf/c.txt > /www/exec.html"], user: root}
    """)
    (project.dir / "conf").mkdir()
    watch = Watch(project)
    try:
        wait_for(lambda: get(project.port) == "v1\n", timeout=30)
        started_at = started(project)
        (project.dir / "html" / "index.html").write_text("after restart\n")
        wait_for(lambda: "Synced and restarted service 'web'" in watch.output, timeout=10)
        assert started(project) > started_at  # the container was restarted, not only synced
        wait_for(lambda: get(project.port) == "after restart\n", timeout=10)
        (project.dir / "conf" / "c.txt").write_text("from exec\n")
        wait_for(lambda: get(project.port, "/exec.html") == "from exec\n", timeout=10)
        # the report is printed once exec returns, which can be just after the file appears
        wait_for(lambda: "Synced and ran exec in service 'web'" in watch.output, timeout=10)
    finally:
        watch.stop()


def started(stack) -> str:
    """When the web container last started, from its state (RFC 3339: sorts as text)."""
    out = stack.berth("container", "inspect", "proj-web-1").stdout
    return json.loads(out)[0]["State"]["StartedAt"]


def test_restarted_container_is_synced_again(project):
    compose(project, "- {path: ./html, action: sync, target: /www}\n")
    watch = Watch(project)
    try:
        wait_for(lambda: get(project.port) == "v1\n", timeout=30)
        project.berth("stop", "-t", "1")
        (project.dir / "html" / "index.html").write_text("changed while stopped\n")
        time.sleep(0.5)
        project.berth("start")
        # synced again once the monitor reports the start, though no file changed since
        wait_for(lambda: get(project.port) == "changed while stopped\n", timeout=10)
        wait_for(lambda: "Service 'web' (re)started: synced 1 file(s) again" in watch.output)
    finally:
        watch.stop()


@pytest.mark.parametrize("rules, message", [
    ("- {path: ./nope, action: sync, target: /x}\n", "path"),
    ("- {path: ./html, action: sync}\n", "needs a 'target'"),
    ("- {path: ./html, action: sync+exec, target: /x}\n", "needs 'exec'"),
])
def test_bad_watch_rules(project, rules, message):
    compose(project, rules)
    out = project.berth("watch", "--no-up", check=False, timeout=30)
    assert out.returncode == 1 and message in out.stderr and "Traceback" not in out.stderr


def test_watch_needs_a_build_section(project):
    project.write("""
        services:
          web:
            image: busybox
            develop:
              watch: [{path: ./html, action: sync, target: /www}]
    """)
    out = project.berth("watch", "--no-up", check=False, timeout=30)
    assert out.returncode == 1 and "no build section" in out.stderr
