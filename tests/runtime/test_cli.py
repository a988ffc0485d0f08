"""`berth image ...` and `berth container ...` through the real command line."""
import json
import os
import pty
import select
import time

import pytest

from tests.helpers import run_berth

pytestmark = pytest.mark.privileged


@pytest.fixture
def env(cli_env):
    return cli_env


def test_image_commands(env, tmp_path):
    listing = run_berth("image", "ls", env=env, check=True).stdout
    assert listing.splitlines()[1].split()[:2] == ["busybox", "latest"]
    run_berth("image", "tag", "busybox", "mine/box:1", env=env, check=True)
    archive = tmp_path / "box.tar"
    run_berth("image", "save", "-o", str(archive), "mine/box:1", env=env, check=True)
    other = {"BERTH_ROOT": str(tmp_path / "other")}
    out = run_berth("image", "load", "-i", str(archive), env=other, check=True).stdout
    assert out.strip() == "Loaded image: mine/box:1"
    info = json.loads(run_berth("image", "inspect", "mine/box:1", env=other, check=True).stdout)
    assert info[0]["Config"]["Cmd"] == ["sh"]
    history = run_berth("image", "history", "busybox", env=env, check=True).stdout
    assert "berth import" in history
    assert run_berth("image", "rm", "mine/box:1", env=env, check=True).stdout == "Untagged: mine/box:1\n"
    missing = run_berth("image", "rm", "nope", env=env)
    assert missing.returncode == 1 and missing.stderr == "berth: no such image: nope\n"


def test_run_foreground_exit_code_and_streams(env):
    out = run_berth("container", "run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 4",
                    env=env)
    assert (out.returncode, out.stdout, out.stderr) == (4, "out\n", "err\n")
    out = run_berth("container", "run", "--rm", "-i", "busybox", "cat", env=env, input="piped\n")
    assert (out.returncode, out.stdout) == (0, "piped\n")
    out = run_berth("container", "run", "--rm", "busybox", "nosuch", env=env)
    assert out.returncode == 127 and "executable file not found" in out.stderr
    assert run_berth("container", "ls", "-aq", env=env).stdout == ""


def test_detached_lifecycle(env):
    cid = run_berth("container", "run", "-d", "--name", "web", "-e", "GREETING=hi", "busybox",
                    "sh", "-c", "echo $GREETING; exec sleep 60", env=env, check=True).stdout.strip()
    assert len(cid) == 64
    listing = run_berth("container", "ls", env=env, check=True).stdout
    assert "web" in listing and "Up " in listing
    assert run_berth("container", "logs", "web", env=env, check=True).stdout == "hi\n"
    out = run_berth("container", "exec", "-u", "app", "-w", "/tmp", "web", "sh", "-c", "id -u; pwd",
                    env=env, check=True)
    assert out.stdout == "1000\n/tmp\n"
    assert run_berth("container", "exec", "web", "sh", "-c", "exit 9", env=env).returncode == 9
    top = run_berth("container", "top", "web", env=env, check=True).stdout
    assert "sleep 60" in top
    state = json.loads(run_berth("container", "inspect", "web", env=env, check=True).stdout)
    assert state[0]["State"]["Status"] == "running" and state[0]["State"]["Running"]
    assert state[0]["Name"] == "/web" and state[0]["Config"]["Image"].endswith("busybox:latest")
    run_berth("container", "stop", "-t", "1", "web", env=env, check=True)
    assert run_berth("container", "wait", "web", env=env, check=True).stdout == "137\n"
    running = run_berth("container", "rm", "web", env=env)
    assert running.returncode == 0


def pty_session(env, argv, send, expect_prompt=b"# "):
    """Run berth on a terminal; type `send` once the prompt shows; (output, exit code)."""
    pid, fd = pty.fork()
    if pid == 0:
        os.environ.update(env)
        os.execvp("python3", ["python3", "-m", "compose"] + argv)
    output, sent = b"", False
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if fd in ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
        if not sent and expect_prompt in output:
            time.sleep(0.2)  # busybox ash asks the terminal for the cursor first
            os.write(fd, send)
            sent = True
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return output, os.waitstatus_to_exitcode(status)


def test_interactive_tty_session(env):
    output, code = pty_session(env, ["container", "run", "--rm", "-it", "busybox", "sh"],
                               b"echo $((6*7)); tty; exit 3\r")
    assert b"42" in output and b"/dev/pts/0" in output
    assert code == 3


def test_exec_with_a_terminal(env):
    run_berth("container", "run", "-d", "--name", "t", "busybox", "sleep", "60", env=env,
              check=True)
    output, code = pty_session(env, ["container", "exec", "-it", "t", "sh"],
                               b"tty; exit 4\r")
    assert b"/dev/pts/" in output and code == 4


def test_frames_that_come_with_the_attach_reply_are_not_lost(tmp_path, capfd):
    """A container that fails at once can send its error and exit frames, and close,
    before the client has read the attach reply: all of it arrives in one read."""
    import socket
    import threading

    from compose.adapter.runtime_backend import FramedAttachment
    from compose.cli.terminal import attach
    from runtime.client import Attachment
    from runtime.protocol import ERROR, EXIT, FRAME

    path = tmp_path / "monitor.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)

    def monitor():
        conn, _ = server.accept()
        conn.recv(1024)  # the attach request
        error = b'exec: "nosuch": executable file not found in $PATH'
        conn.sendall(b'{"ok": true}\n' + FRAME.pack(ERROR, len(error)) + error
                     + FRAME.pack(EXIT, 3) + b"127")
        conn.close()

    thread = threading.Thread(target=monitor)
    thread.start()
    time.sleep(0.05)
    assert attach(FramedAttachment(Attachment(path, stdin=False)), stdin=False, tty=False) == 127
    thread.join()
    server.close()
    assert "executable file not found" in capfd.readouterr().err
