"""The base of every error berth reports to its user: the CLI prints the message, in one
line, with no traceback."""


class BerthError(Exception):
    """A failed operation whose message tells the user what went wrong."""
