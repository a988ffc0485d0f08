"""The monitor's control socket (runtime.monitor.server) with runtime.client on the other
end: requests dispatched by their op, errors, attach frames. No container, no root."""
import threading

import pytest

from runtime import client
from runtime.monitor.loop import EventLoop
from runtime.monitor.ops import OPS
from runtime.monitor.server import Mode, Server
from runtime.protocol import STDIN, STDOUT, Op, ok


@pytest.fixture
def serve(tmp_path):
    """serve(handlers, talk) runs `talk(socket path)` in a thread against a server with
    `handlers` until the thread is done; returns what talk returned and the frames the
    server got."""
    def serve(handlers, talk):
        loop = EventLoop()
        frames = []
        server = Server(loop, tmp_path / "monitor.sock", handlers,
                        lambda conn, got: frames.extend(got), lambda conn: None)
        server.listen()
        results = []
        thread = threading.Thread(target=lambda: results.append(talk(server.path)))
        thread.start()
        while thread.is_alive():  # the loop in slices of 10 ms, until the client is done
            loop.stopped = False
            loop.after(0.01, loop.stop)
            loop.run()
        server.close()
        assert not server.path.exists()
        return results[0], frames

    return serve


def test_requests_go_to_the_handler_of_their_op(serve):
    def state(conn, request):
        conn.reply(ok(op=request["op"], extra=request["extra"]))

    reply, _ = serve({"state": state}, lambda path: client.request(path, {"op": Op.STATE,
                                                                         "extra": 1}))
    assert reply == {"ok": True, "op": "state", "extra": 1}


@pytest.mark.parametrize("request_, error", [
    ({"op": "fly"}, "unknown request 'fly'"),
    ({"op": ["state"]}, "unknown request ['state']"),
    ({}, "unknown request None"),
])
def test_unknown_requests_are_refused(serve, request_, error):
    reply, _ = serve({}, lambda path: client.request(path, request_))
    assert reply == {"error": error}


def test_a_failing_handler_is_an_error_reply_not_the_monitors_end(serve):
    def broken(conn, request):
        raise ValueError("no such thing")

    reply, _ = serve({"state": broken}, lambda path: client.request(path, {"op": "state"}))
    assert reply == {"error": "no such thing"}


def test_an_attached_client_sends_frames_and_gets_output(serve):
    def attach(conn, request):
        conn.mode = Mode.ATTACH
        conn.reply(ok())
        conn.frame(STDOUT, b"hello")

    def talk(path):
        attachment = client.Attachment(path, stdin=True)
        attachment.send(b"input")
        output = list(attachment.read_frames())
        attachment.close()
        return output

    output, frames = serve({"attach": attach}, talk)
    assert output == [(STDOUT, b"hello")]
    assert frames == [(STDIN, b"input")]


def test_every_op_has_a_handler():
    assert set(OPS) == set(Op)
