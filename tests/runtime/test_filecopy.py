"""Copying into and out of a root through fds (runtime.filecopy, runtime.rootdir), on
plain directories: no container, no root needed."""
import os
import stat

import pytest

from runtime.filecopy import CopyError, copy_entry, copy_out_of, copy_tree_in, remove_path
from runtime.rootdir import RootDir


@pytest.fixture
def root(tmp_path):
    (tmp_path / "root" / "etc").mkdir(parents=True)
    return tmp_path / "root"


def test_a_tree_goes_in_and_comes_out_with_modes_times_and_links(tmp_path, root):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "run.sh").write_text("echo hi\n")
    os.chmod(src / "sub" / "run.sh", 0o750)
    os.symlink("sub/run.sh", src / "link")
    os.utime(src / "sub" / "run.sh", ns=(1_000_000_000, 1_500_000_000))
    copy_tree_in(str(root), "/app", str(src))
    inside = root / "app"
    assert (inside / "sub" / "run.sh").read_text() == "echo hi\n"
    assert stat.S_IMODE(os.stat(inside / "sub" / "run.sh").st_mode) == 0o750
    assert os.stat(inside / "sub" / "run.sh").st_mtime_ns == 1_500_000_000
    assert os.readlink(inside / "link") == "sub/run.sh"
    copy_out_of(str(root), "/app", str(tmp_path / "out"))
    assert os.stat(tmp_path / "out" / "sub" / "run.sh").st_mtime_ns == 1_500_000_000
    assert os.readlink(tmp_path / "out" / "link") == "sub/run.sh"
    remove_path(str(root), "/app")
    assert not inside.exists()


def test_a_path_through_an_absolute_link_stays_inside_the_root(tmp_path, root):
    os.symlink("/etc", root / "escape")
    (tmp_path / "file").write_text("x")
    copy_tree_in(str(root), "/escape/planted", str(tmp_path / "file"))
    assert (root / "etc" / "planted").read_text() == "x"  # the root's /etc, not the host's
    assert not os.path.exists("/etc/planted")


def test_an_entry_that_becomes_a_link_to_a_host_file_is_not_read(tmp_path, root):
    """The look (lstat) and the read are apart in time: what was a file may be a link to
    the host's secrets by then (a container swapping it, in a volume it shares)."""
    secret = tmp_path / "secret"
    secret.write_text("HOST-SECRET")
    image = tmp_path / "image"
    image.mkdir()
    (image / "data").write_text("image data")
    looked = os.lstat(image / "data")
    os.unlink(image / "data")
    os.symlink(secret, image / "data")
    source = os.open(image, os.O_RDONLY | os.O_DIRECTORY)
    target = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        with pytest.raises(OSError):
            copy_entry(target, "data", source, "data", looked)
    finally:
        os.close(source)
        os.close(target)
    assert not any("HOST-SECRET" in p.read_text() for p in root.rglob("*") if p.is_file())


def test_reading_a_root_s_file_never_opens_a_fifo_or_a_device(root):
    os.mkfifo(root / "etc" / "passwd")  # opened for reading, a fifo blocks for good
    assert RootDir(root).read_text("/etc/passwd") == ""


def test_special_files_are_refused_at_the_top_and_left_out_below(tmp_path, root):
    os.mkfifo(root / "etc" / "pipe")
    (root / "etc" / "hosts").write_text("127.0.0.1 localhost\n")
    with pytest.raises(CopyError, match="not a regular file, directory or symbolic link"):
        copy_out_of(str(root), "/etc/pipe", str(tmp_path / "pipe"))
    copy_out_of(str(root), "/etc", str(tmp_path / "etc"))
    assert os.listdir(tmp_path / "etc") == ["hosts"]


def test_following_dangling_links_inside_the_root(root):
    os.symlink("../run/systemd/resolve/stub-resolv.conf", root / "etc" / "resolv.conf")
    os.symlink("/nonexistent/dir", root / "data")
    tree = RootDir(root)
    assert tree.follow("/etc/resolv.conf") == "/run/systemd/resolve/stub-resolv.conf"
    assert tree.follow("data/x/../y") == "/nonexistent/dir/y"
    fd = tree.makedirs("/data")
    assert os.readlink(f"/proc/self/fd/{fd}") == str(root / "nonexistent" / "dir")
    os.close(fd)
    os.symlink("loop", root / "loop")
    with pytest.raises(OSError, match="too many levels"):
        tree.follow("/loop")


def test_an_open_raced_by_a_mount_elsewhere_is_retried(root, monkeypatch):
    """openat2 gives EAGAIN when a rename or mount anywhere raced a ".." step (the suite's
    parallel containers do that); openat2(2) says retry, and a start must not fail."""
    import errno

    from runtime import rootdir

    real = rootdir.SYSCALLS.openat2
    raced = []

    def racy(*args):
        if len(raced) < 3:
            raced.append(args[1])
            raise OSError(errno.EAGAIN, os.strerror(errno.EAGAIN))
        return real(*args)

    monkeypatch.setattr(rootdir.SYSCALLS, "openat2", racy)
    fd = RootDir(root).open("etc/../etc")
    assert os.readlink(f"/proc/self/fd/{fd}") == str(root / "etc")
    os.close(fd)
    assert raced == ["etc/../etc"] * 3

    def always_raced(*args):
        raced.append(args[1])
        raise OSError(errno.EAGAIN, "again")

    monkeypatch.setattr(rootdir.SYSCALLS, "openat2", always_raced)
    with pytest.raises(OSError, match="again"):  # a race that never ends is an error
        RootDir(root).open("etc")
    assert len(raced) == 3 + rootdir.EAGAIN_RETRIES
