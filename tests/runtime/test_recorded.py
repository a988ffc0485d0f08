"""Kernel work behind the seam (runtime.syscalls), recorded without root: an image's
merged view and a container's cgroup under a root of the test's own."""
import os

from runtime import cgroups
from runtime.images.rootview import with_root
from runtime.spec import Resources
from runtime.syscalls import CLONE_NEWNS, MS_PRIVATE, MS_RDONLY, MS_REC, RecordingSyscalls


def test_an_images_view_is_mounted_in_a_private_namespace(tmp_path):
    layers = [str(tmp_path / name) for name in ("bottom", "top")]
    for layer in layers:
        os.mkdir(layer)
    sys = RecordingSyscalls()
    # fn runs in the forked child, where the calls were recorded: it sends them back
    root, calls = with_root(layers, lambda root: (root, list(sys.calls)), sys)
    assert calls == [("unshare", CLONE_NEWNS),
                     ("mount", None, "/", None, MS_REC | MS_PRIVATE, None),
                     ("mount", "overlay", root, "overlay", MS_RDONLY, "lowerdir=top:bottom")]
    assert not os.path.exists(root)  # removed after
    assert sys.calls == []  # nothing was done in this process


def test_a_containers_cgroup_under_another_root(tmp_path):
    (tmp_path / "cgroup.controllers").write_text("cpu memory pids\n")
    (tmp_path / "cgroup.subtree_control").write_text("")
    sys = RecordingSyscalls()
    assert cgroups.is_v2(str(tmp_path)) and cgroups.filters_devices(str(tmp_path))
    group = cgroups.for_container("abc", root=str(tmp_path), sys=sys)
    group.create(Resources(pids=10))
    group.add(42)
    assert (tmp_path / "berth-abc" / "container" / "cgroup.procs").read_text() == "42"
    assert (tmp_path / "cgroup.subtree_control").read_text() == "+cpu +memory +pids"
    assert [call[0] for call in sys.calls] == ["bpf_prog_load", "bpf_prog_attach"]
    assert sys.calls[1][1] == str(tmp_path / "berth-abc" / "container")
    group.leave(7)
    assert (tmp_path / "cgroup.procs").read_text() == "7"
