"""Real containers: a privileged one may use every device (docker's "a *:* rwm"), others
only docker's default list (the device rules: test_devicefilter)."""
import os
import stat

import pytest

from runtime.create import RunOptions

pytestmark = pytest.mark.privileged


@pytest.mark.parametrize("privileged", [False, True])
def test_a_host_block_device_is_opened_by_a_privileged_container(engine, busybox, privileged):
    try:  # loop0: a block device a host process may open (8:0 may not be)
        st = os.stat("/dev/loop0")
    except FileNotFoundError:
        pytest.skip("no /dev/loop0")
    assert stat.S_ISBLK(st.st_mode)
    script = (f"mknod /tmp/disk b {os.major(st.st_rdev)} {os.minor(st.st_rdev)} && echo made; "
              "dd if=/tmp/disk of=/dev/null bs=512 count=0 2>&1 && echo opened")
    container = engine.create(busybox, RunOptions(command=["sh", "-c", script],
                                                  privileged=privileged))
    engine.start(container.id)
    code = engine.wait(container.id)
    out = "".join(line.text for line in engine.logs(container.id))
    assert code == (0 if privileged else 1), out
    assert out.startswith("made\n")  # mknod: allowed to every container ("b *:* m")
    assert ("opened" in out.splitlines()) is privileged, out
    assert ("Operation not permitted" in out) is not privileged, out
