"""Pull and push against real registries on 127.0.0.1: Debian's docker-registry (plain
and with htpasswd auth), skopeo as the independent client, and a small fake registry
for the bearer-token flow and for corrupt content."""
import hashlib
import http.server
import io
import json
import shutil
import subprocess
import tarfile
import threading

import pytest

from runtime.containers import Containers
from runtime.create import RunOptions
from runtime.images import archive
from runtime.images.registry import Registry, RegistryError, save_credentials
from runtime.images.store import ImageStore
from runtime.paths import Paths
from tests.helpers import start_registry

pytestmark = [pytest.mark.privileged,
              pytest.mark.skipif(not shutil.which("docker-registry"),
                                 reason="needs Debian's docker-registry")]


@pytest.fixture
def registry(tmp_path):
    proc, address = start_registry(tmp_path)
    yield address
    proc.terminate()
    proc.wait()


def store_at(tmp_path, name):
    return ImageStore(Paths(tmp_path / name, tmp_path / name / "run").ensure())


def env_for(tmp_path):
    return {"HOME": str(tmp_path / "home"), "BERTH_CONFIG": str(tmp_path / "berth-config")}


def test_push_then_pull_into_another_root_and_run(engine, busybox, registry, tmp_path):
    ref = f"{registry}/team/box:1"
    engine.images.tag("busybox", ref)
    digest = Registry(engine.images, env_for(tmp_path)).push(ref)
    other = Containers(Paths(tmp_path / "other", tmp_path / "other" / "run"))
    seen = []
    image = Registry(other.images, env_for(tmp_path)).pull(ref, progress=lambda *a: seen.append(a[1]))
    assert image.id == busybox.id and image.manifest_digest == digest
    assert "Pull complete" in seen
    c = other.create(image, RunOptions(command=["echo", "pulled"]))
    other.start(c.id)
    assert other.wait(c.id) == 0
    assert [l.text for l in other.logs(c.id)] == ["pulled\n"]
    other.remove(c.id)
    by_digest = Registry(store_at(tmp_path, "third"), env_for(tmp_path)).pull(
        f"{registry}/team/box@{digest}")
    assert by_digest.id == busybox.id


def test_skopeo_agrees_both_ways(engine, busybox, registry, tmp_path):
    if not shutil.which("skopeo"):
        pytest.skip("needs skopeo")
    ours = f"{registry}/cross/ours:1"
    engine.images.tag("busybox", ours)
    Registry(engine.images, env_for(tmp_path)).push(ours)
    out = tmp_path / "skopeo-dir"
    subprocess.run(["skopeo", "copy", "--src-tls-verify=false", f"docker://{ours}",
                    f"dir:{out}"], check=True, capture_output=True)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["digest"] == busybox.id
    # skopeo pushes an archive berth saved; berth pulls what skopeo pushed
    saved = tmp_path / "saved.tar"
    archive.save(engine.images, [(busybox, ["busybox"])], str(saved))
    theirs = f"{registry}/cross/theirs:2"
    subprocess.run(["skopeo", "copy", "--dest-tls-verify=false", f"docker-archive:{saved}",
                    f"docker://{theirs}"], check=True, capture_output=True)
    pulled = Registry(store_at(tmp_path, "fromskopeo"), env_for(tmp_path)).pull(theirs)
    assert pulled.id == busybox.id


def test_htpasswd_auth_and_login(busybox, engine, tmp_path):
    proc, address = start_registry(tmp_path, auth=True)
    try:
        ref = f"{address}/private/box:1"
        engine.images.tag("busybox", ref)
        env = env_for(tmp_path)
        with pytest.raises(RegistryError, match="needs a login|unauthorized"):
            Registry(engine.images, env).push(ref)
        with pytest.raises(RegistryError):
            Registry(engine.images, env).login(address, "alice", "wrong")
        Registry(engine.images, env).login(address, "alice", "s3cret")
        save_credentials(address, "alice", "s3cret", env)
        Registry(engine.images, env).push(ref)
        assert Registry(store_at(tmp_path, "authpull"), env).pull(ref).id == busybox.id
    finally:
        proc.terminate()
        proc.wait()


# --- a fake registry: bearer tokens, zstd layers, resumed and corrupt downloads ----------------

class FakeRegistry(http.server.ThreadingHTTPServer):
    """Serves one image; wants a bearer token from its own /token endpoint."""

    def __init__(self, blobs: dict[str, bytes], manifest: bytes, corrupt: set[str] = frozenset()):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.blobs, self.manifest, self.corrupt = blobs, manifest, set(corrupt)
        self.token_requests = 0
        self.ranges: list[str] = []

    @property
    def address(self):
        return f"127.0.0.1:{self.server_address[1]}"


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _send(self, code, body=b"", headers=None):
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        server = self.server
        if self.path.startswith("/token"):
            server.token_requests += 1
            return self._send(200, json.dumps({"token": "t0k3n"}).encode())
        if self.headers.get("Authorization") != "Bearer t0k3n":
            realm = f"http://{server.address}/token"
            return self._send(401, b"{}", {"WWW-Authenticate":
                                           f'Bearer realm="{realm}",service="fake",'
                                           f'scope="repository:demo/img:pull"'})
        if self.path.endswith("/manifests/multi"):
            index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                     "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                                    "digest": "sha256:" + "0" * 64, "size": 1,
                                    "platform": {"os": "linux", "architecture": "s390x"}}]}
            return self._send(200, json.dumps(index).encode(),
                              {"Content-Type": "application/vnd.oci.image.index.v1+json"})
        if "/manifests/" in self.path:
            return self._send(200, server.manifest,
                              {"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
        digest = self.path.rsplit("/", 1)[-1]
        body = server.blobs.get(digest)
        if body is None:
            return self._send(404)
        if digest in server.corrupt:
            body = body[:-1] + bytes([body[-1] ^ 1])
        wanted = self.headers.get("Range")
        if wanted:
            server.ranges.append(wanted)
            start = int(wanted.split("=")[1].split("-")[0])
            return self._send(206, body[start:])
        return self._send(200, body)


def zstd_image(tmp_path, busybox_dir):
    import zstandard

    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        tar.add(str(busybox_dir), arcname=".")
    layer = zstandard.ZstdCompressor().compress(raw.getvalue())
    diff_id = "sha256:" + hashlib.sha256(raw.getvalue()).hexdigest()
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "config": {"Cmd": ["echo", "from zstd"]},
                         "rootfs": {"type": "layers", "diff_ids": [diff_id]}}).encode()
    digest = lambda b: "sha256:" + hashlib.sha256(b).hexdigest()  # noqa: E731
    manifest = json.dumps({"schemaVersion": 2,
                           "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      "digest": digest(config), "size": len(config)},
                           "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+zstd",
                                       "digest": digest(layer), "size": len(layer)}]}).encode()
    return {digest(config): config, digest(layer): layer}, manifest, digest(layer)


@pytest.fixture
def fake(tmp_path, busybox_dir):
    blobs, manifest, layer = zstd_image(tmp_path, busybox_dir)
    server = FakeRegistry(blobs, manifest)
    server.layer = layer
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


def test_bearer_tokens_zstd_layers_and_resume(fake, tmp_path):
    store = store_at(tmp_path, "fake")
    layer = fake.layer
    partial = store.tmp / f"partial-{layer.split(':')[1]}"
    partial.write_bytes(fake.blobs[layer][:1000])  # an interrupted earlier download
    image = Registry(store, env_for(tmp_path)).pull(f"{fake.address}/demo/img:1")
    assert fake.token_requests >= 1
    assert fake.ranges == ["bytes=1000-"]  # resumed where it stopped
    assert not partial.exists()
    api = Containers(store.paths)
    c = api.create(image, RunOptions())
    api.start(c.id)
    assert api.wait(c.id) == 0 and [l.text for l in api.logs(c.id)] == ["from zstd\n"]
    api.remove(c.id)


def test_corrupt_blob_is_refused_and_not_kept(fake, tmp_path):
    fake.corrupt.add(fake.layer)
    store = store_at(tmp_path, "corrupt")
    with pytest.raises(RegistryError, match="digest mismatch"):
        Registry(store, env_for(tmp_path)).pull(f"{fake.address}/demo/img:1")
    assert not store.has_blob(fake.layer)
    assert not list(store.tmp.glob("partial-*")) and not list(store.layers.iterdir())
    fake.corrupt.clear()
    assert Registry(store, env_for(tmp_path)).pull(f"{fake.address}/demo/img:1")


def test_unknown_tag_and_platform(fake, tmp_path, registry):
    with pytest.raises(RegistryError, match="not found"):
        Registry(store_at(tmp_path, "x"), env_for(tmp_path)).pull(f"{registry}/no/such:1")
    with pytest.raises(RegistryError, match="no image for linux/amd64 .available: linux/s390x"):
        Registry(store_at(tmp_path, "y"), env_for(tmp_path)).pull(f"{fake.address}/demo/img:multi")
