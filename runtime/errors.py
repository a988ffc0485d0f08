"""The runtime's user-facing errors: the CLI prints their message, no traceback."""


class BerthError(Exception):
    """A failed operation whose message tells the user what went wrong."""
