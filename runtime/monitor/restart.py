"""The restart policy, decided on each exit of the container (docker's rules)."""
from __future__ import annotations

BACKOFF_START, BACKOFF_MAX, BACKOFF_RESET_AFTER = 0.1, 60.0, 10.0


def restart_wanted(policy: str, exit_code: int, restarts: int, stopped_by_user: bool) -> bool:
    """Docker's restart policies, decided on one exit."""
    if stopped_by_user:
        return False
    name, _, limit = policy.partition(":")
    if name in ("always", "unless-stopped"):
        return True
    if name == "on-failure":
        return exit_code != 0 and (not limit or restarts < int(limit))
    return False


def backoff(restarts: int) -> float:
    return min(BACKOFF_MAX, BACKOFF_START * (2 ** max(0, restarts - 1)))


def restart_delay(policy: str, exit_code: int, restart_count: int, ran_for: float,
                  stopped_by_user: bool) -> float | None:
    """Seconds to wait before the container starts again after it exited with
    `exit_code` having run `ran_for` seconds, or None to leave it exited. A run of
    BACKOFF_RESET_AFTER seconds or more starts the count (and the back-off) afresh."""
    restarts = 0 if ran_for >= BACKOFF_RESET_AFTER else restart_count
    if not restart_wanted(policy, exit_code, restarts, stopped_by_user):
        return None
    return backoff(restarts + 1)
