"""The image store: import, load/save, tags, prune, and safe layer unpacking."""
import gzip
import io
import json
import os
import stat
import tarfile

import pytest

from common import reference
from runtime.images import archive
from runtime.images.store import ImageNotFound, ImageStore
from runtime.images.unpack import UnpackError, unpack_bytes
from runtime.paths import Paths
from tests.helpers import busybox_rootfs


@pytest.fixture
def store(tmp_path):
    return ImageStore(Paths(tmp_path / "root", tmp_path / "run").ensure())


@pytest.fixture
def busybox(tmp_path, store):
    rootfs = busybox_rootfs(tmp_path / "rootfs")
    return archive.import_rootfs(store, str(rootfs), ["busybox:test"], ['CMD ["sh"]', "ENV A=1"])


def make_tar(entries):
    """entries: (name, kind, extra) with kind file|dir|symlink|hardlink|chr."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, kind, extra in entries:
            info = tarfile.TarInfo(name)
            data = b""
            if kind == "file":
                data = extra.encode()
                info.size = len(data)
                info.mode = 0o644
            elif kind == "dir":
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
            elif kind == "symlink":
                info.type = tarfile.SYMTYPE
                info.linkname = extra
            elif kind == "hardlink":
                info.type = tarfile.LNKTYPE
                info.linkname = extra
            tar.addfile(info, io.BytesIO(data) if data else None)
    return buf.getvalue()


@pytest.mark.parametrize("ref, expected, familiar", [
    ("busybox", "docker.io/library/busybox:latest", "busybox:latest"),
    ("me/app:1.0", "docker.io/me/app:1.0", "me/app:1.0"),
    ("localhost:5000/x", "localhost:5000/x:latest", "localhost:5000/x:latest"),
    ("ghcr.io/a/b/c:v", "ghcr.io/a/b/c:v", "ghcr.io/a/b/c:v"),
    ("busybox@sha256:" + "a" * 64, "docker.io/library/busybox@sha256:" + "a" * 64,
     "busybox@sha256:" + "a" * 64),
])
def test_references(ref, expected, familiar):
    assert str(reference.parse(ref)) == expected
    assert reference.parse(ref).familiar() == familiar


@pytest.mark.parametrize("ref", ["UPPER", "a:b:c", "", "x@sha256:short", "bad//path"])
def test_bad_references(ref):
    with pytest.raises(reference.ReferenceError):
        reference.parse(ref)


def test_import_directory(store, busybox):
    assert busybox.refs == ("docker.io/library/busybox:test",)
    assert busybox.config["config"]["Cmd"] == ["sh"]
    assert "A=1" in busybox.config["config"]["Env"]
    layer = store.layer_dir(busybox.diff_ids[0])
    assert (layer / "bin" / "busybox").stat().st_size > 100_000
    assert os.readlink(layer / "bin" / "sh") == "busybox"
    assert (layer / "home" / "app").stat().st_uid == 1000
    assert stat.S_IMODE((layer / "tmp").stat().st_mode) == 0o1777
    assert store.get("busybox:test").id == busybox.id
    assert store.get(busybox.short_id).id == busybox.id


def test_import_tar_gz_shares_the_layer(tmp_path, store, busybox):
    tar_path = tmp_path / "rootfs.tar.gz"
    layer_tar = store.blob_path(busybox.layers[0]["digest"]).read_bytes()
    tar_path.write_bytes(gzip.compress(layer_tar))
    again = archive.import_rootfs(store, str(tar_path), ["again"])
    assert again.diff_ids == busybox.diff_ids  # same content, same unpacked layer
    assert again.layers[0]["mediaType"].endswith("tar+gzip")
    assert len(list(store.layers.iterdir())) == 1


def test_tag_remove_prune(store, busybox):
    store.tag("busybox:test", "other:1")
    assert store.get("other:1").id == busybox.id
    assert store.remove("other:1") == ["Untagged: other:1"]
    with pytest.raises(ImageNotFound):
        store.get("other:1")
    done = store.remove("busybox:test")
    assert done == ["Untagged: busybox:test", f"Deleted: {busybox.id}"]
    deleted, reclaimed = store.prune(all_unused=False, in_use=())
    assert reclaimed > 1_000_000
    assert not list(store.layers.iterdir()) and not list(store.blobs.iterdir())


def test_save_and_load_round_trip(tmp_path, store, busybox):
    out = tmp_path / "image.tar"
    archive.save(store, [(busybox, list(busybox.refs))], str(out))
    with tarfile.open(out) as tar:
        names = tar.getnames()
        manifest = json.loads(tar.extractfile("manifest.json").read())
    assert {"manifest.json", "index.json", "oci-layout"} <= set(names)
    assert manifest[0]["RepoTags"] == ["busybox:test"]
    other = ImageStore(Paths(tmp_path / "root2", tmp_path / "run2").ensure())
    loaded = archive.load(other, str(out))
    assert [img.id for img in loaded] == [busybox.id]
    assert other.get("busybox:test").config["config"]["Cmd"] == ["sh"]
    # an OCI layout alone (no manifest.json), gzip-compressed, loads too
    oci = tmp_path / "oci.tar.gz"
    with tarfile.open(out) as src, tarfile.open(oci, "w:gz") as dst:
        for member in src.getmembers():
            if member.name != "manifest.json":
                dst.addfile(member, src.extractfile(member))
    third = ImageStore(Paths(tmp_path / "root3", tmp_path / "run3").ensure())
    assert archive.load(third, str(oci))[0].refs == ("docker.io/library/busybox:test",)


def test_load_rejects_garbage(tmp_path, store):
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"not a tar at all")
    with pytest.raises(archive.ArchiveError):
        archive.load(store, str(junk))


def test_whiteouts_become_overlay_whiteouts(tmp_path):
    root = tmp_path / "layer"
    unpack_bytes(make_tar([("etc", "dir", None), ("etc/.wh.old.conf", "file", ""),
                           ("var", "dir", None), ("var/.wh..wh..opq", "file", ""),
                           ("var/new", "file", "x")]), str(root))
    st = os.lstat(root / "etc" / "old.conf")
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
    assert os.getxattr(root / "var", "trusted.overlay.opaque") == b"y"
    assert not (root / "etc" / ".wh.old.conf").exists()


@pytest.mark.parametrize("entries", [
    [("../escape", "file", "x")],
    [("a/../../escape", "file", "x")],
    [("link", "hardlink", "../../etc/passwd")],
])
def test_entries_outside_the_root_are_refused(tmp_path, entries):
    root = tmp_path / "layer"
    with pytest.raises(UnpackError):
        unpack_bytes(make_tar(entries), str(root))
    assert not (tmp_path / "escape").exists()


def test_symlinks_cannot_carry_writes_out(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "layer"
    unpack_bytes(make_tar([
        ("abs", "symlink", str(outside)),          # absolute symlink to a host dir
        ("abs/pwned", "file", "x"),                # write "through" it
        ("rel", "symlink", "../../outside"),       # relative symlink climbing out
        ("rel/pwned2", "file", "x"),
        ("abs", "symlink", "/etc/passwd"),         # replace a link; never follow it
        ("hl", "hardlink", "abs"),                 # hard link to the link itself
    ]), str(root))
    assert list(outside.iterdir()) == []
    assert (root / str(outside).lstrip("/") / "pwned").read_text() == "x"  # contained
    assert (root / "outside" / "pwned2").exists()
    assert os.readlink(root / "abs") == "/etc/passwd"
    assert os.path.islink(root / "hl")


def test_absolute_names_are_made_relative(tmp_path):
    root = tmp_path / "layer"
    unpack_bytes(make_tar([("/etc/hostname", "file", "box")]), str(root))
    assert (root / "etc" / "hostname").read_text() == "box"
