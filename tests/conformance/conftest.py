"""The conformance builds run in a private BERTH_ROOT (the runtime tests' fixtures)."""
from tests.runtime.conftest import busybox_dir, engine  # noqa: F401  (fixtures)
