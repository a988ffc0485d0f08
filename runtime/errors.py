"""The runtime's user-facing errors share common.errors.BerthError with the compose layer,
so the CLI reports either in one line."""
from common.errors import BerthError

__all__ = ["BerthError"]
