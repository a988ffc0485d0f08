"""The security tests attack real containers: they share the runtime tests' fixtures."""
from tests.runtime.conftest import busybox, busybox_dir, engine  # noqa: F401 - fixtures
