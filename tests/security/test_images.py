"""Image layers: what a layer may set on the files it unpacks."""
import io
import os
import tarfile

import pytest

from runtime.images.unpack import unpack_bytes

pytestmark = pytest.mark.privileged  # trusted.* attributes need CAP_SYS_ADMIN


def test_a_layer_cannot_set_overlayfs_s_own_attributes(tmp_path):
    """trusted.overlay.redirect/metacopy/opaque steer overlayfs's lookups: only berth's
    translation of whiteouts may set them, never a layer's headers."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("etc")
        info.type = tarfile.DIRTYPE
        info.pax_headers = {"SCHILY.xattr.trusted.overlay.redirect": "/",
                            "SCHILY.xattr.trusted.overlay.opaque": "y",
                            "SCHILY.xattr.user.note": "kept"}
        tar.addfile(info)
    unpack_bytes(buffer.getvalue(), str(tmp_path / "layer"))
    names = os.listxattr(tmp_path / "layer" / "etc")
    assert "user.note" in names
    assert not [n for n in names if n.startswith("trusted.overlay.")]
