"""berth's version (the package's, read by pyproject.toml) and the docker compose version
it answers to: kept here so that printing them loads nothing else."""
VERSION = "0.1.0"
COMPOSE_VERSION = "2.0.0-berth"


def version_line(short: bool = False) -> str:
    """What `berth version` prints."""
    return VERSION if short else f"berth version {VERSION} (compose {COMPOSE_VERSION})"
