"""The security tests attack real containers and projects: they share the fixtures of
the runtime and compose tests."""
from tests.compose.conftest import stack  # noqa: F401 - a fixture
from tests.runtime.conftest import busybox, busybox_dir, engine  # noqa: F401 - fixtures
