"""Builds: a RUN step sees no host-local service, and nothing from outside the context
enters an image."""
import contextlib
import http.server
import io
import os
import tarfile
import threading

import pytest

from runtime.create import RunOptions
from runtime.images.build import Builder, BuildError, BuildOptions
from runtime.images.unpack import open_layer
from runtime.network.api import Networks
from tests.helpers import host_address

pytestmark = pytest.mark.privileged


@contextlib.contextmanager
def http_server(address: str, body: bytes):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the stdlib's name
            self.send_response(200)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer((address, 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def build(engine, context, dockerfile, **options):
    (context / "Dockerfile").write_text(dockerfile)
    return Builder(engine, output=lambda line: None).build(
        BuildOptions(context=str(context), **options))


def cat(engine, image, path):
    c = engine.create(image, RunOptions(command=["cat", path]))
    engine.start(c.id)
    engine.wait(c.id)
    out = "".join(line.text for line in engine.logs(c.id))
    engine.remove(c.id)
    return out


def layer_bytes(engine, image) -> bytes:
    """Everything the image's layers hold, uncompressed."""
    data = b""
    for layer in image.layers:
        with open_layer(engine.images.blob_path(layer["digest"])) as handle:
            data += handle.read()
    return data


def test_run_steps_do_not_see_the_hosts_own_services(engine, busybox, tmp_path):
    """A RUN step runs on a network of the build's own, not in the host's namespace."""
    probe = ("FROM busybox\n"
             "RUN (timeout 5 wget -qO- http://{addr}:{port}/ || echo unreachable) > /got\n")
    with http_server("127.0.0.1", b"host-only-secret") as local, \
            http_server("0.0.0.0", b"reachable-like-a-container") as public:
        image = build(engine, tmp_path, probe.format(addr="127.0.0.1", port=local))
        assert "host-only-secret" not in cat(engine, image, "/got")
        image = build(engine, tmp_path, probe.format(addr="127.0.0.1", port=local),
                      network="host")  # asked for: the host's network, as docker does
        assert cat(engine, image, "/got") == "host-only-secret"
        address = host_address()
        if address:  # the way out a container has
            image = build(engine, tmp_path, probe.format(addr=address, port=public))
            assert cat(engine, image, "/got") == "reachable-like-a-container"
    assert not Networks(engine.paths).list()  # the build's network went with it


def test_add_of_a_link_to_an_archive_outside_the_context_reads_nothing(engine, busybox, tmp_path):
    context, outside = tmp_path / "ctx", tmp_path / "outside"
    context.mkdir()
    outside.mkdir()
    with tarfile.open(outside / "private.tar", "w") as tar:
        data = b"outside-the-context"
        info = tarfile.TarInfo("private.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    (outside / "plain.txt").write_text("outside-the-context too")
    os.symlink(outside / "private.tar", context / "bundle.tar")
    os.symlink(outside / "plain.txt", context / "notes.txt")
    image = build(engine, context, "FROM busybox\nADD bundle.tar /opt/\nADD notes.txt /opt/\n"
                                   "COPY notes.txt /srv/\n")
    content = layer_bytes(engine, image)
    assert b"outside-the-context" not in content
    assert b"bundle.tar" in content  # the link itself was added, as a link


def test_a_context_swapped_under_a_build_reads_nothing_outside(engine, busybox, tmp_path,
                                                             monkeypatch):
    """A directory of the context that becomes a symlink between the look and the read."""
    context, outside = tmp_path / "ctx", tmp_path / "outside"
    (context / "app").mkdir(parents=True)
    outside.mkdir()
    (context / "app" / "settings.txt").write_text("harmless")
    (outside / "settings.txt").write_text("outside-the-context")
    real_lstat, swapped = os.lstat, []

    def lstat_then_swap(path, *args, **kwargs):  # the attacker wins every race
        result = real_lstat(path, *args, **kwargs)
        if str(path).endswith("app/settings.txt") and not swapped:
            os.rename(context / "app", tmp_path / "app-away")
            os.symlink(outside, context / "app")
            swapped.append(path)
        return result

    monkeypatch.setattr(os, "lstat", lstat_then_swap)
    try:
        image = build(engine, context, "FROM busybox\nCOPY app /app\n")
    except BuildError:
        image = None  # refused: fine too
    monkeypatch.undo()
    assert swapped
    if image is not None:
        assert b"outside-the-context" not in layer_bytes(engine, image)


def test_a_build_network_left_by_a_killed_build_goes_with_the_next_build(engine, busybox,
                                                                         tmp_path):
    nets = Networks(engine.paths)
    nets.create("berth-build-stale", labels={"berth.build": "1",
                                             "berth.build.owner": "999999:1"})  # long gone
    build(engine, tmp_path, "FROM busybox\nRUN true\n")
    assert nets.list() == []
