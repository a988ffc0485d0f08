"""The restart policy, decided on each exit of the container (docker's rules).

A policy is docker's `NAME[:MAX]` (no, always, unless-stopped, on-failure), optionally
followed by compose's `deploy.restart_policy` timings: `;delay=SECONDS` (wait that long
before each restart instead of backing off) and `;window=SECONDS` (a run that lasts that
long counts as a success: the count of attempts starts afresh). With MAX, `always` and
`unless-stopped` give up after that many restarts too (compose's `condition: any` with
`max_attempts`).
"""
from __future__ import annotations

BACKOFF_START, BACKOFF_MAX, BACKOFF_RESET_AFTER = 0.1, 60.0, 10.0


def _parse(policy: str) -> tuple[str, int | None, float | None, float | None]:
    """(name, max restarts, delay, window) of a policy string."""
    head, *options = policy.split(";")
    name, _, limit = head.partition(":")
    timings = dict(option.partition("=")[::2] for option in options)
    delay, window = timings.get("delay"), timings.get("window")
    return (name, int(limit) if limit else None, float(delay) if delay else None,
            float(window) if window else None)


def restart_wanted(policy: str, exit_code: int, restarts: int, stopped_by_user: bool) -> bool:
    """Docker's restart policies, decided on one exit."""
    if stopped_by_user:
        return False
    name, limit, _, _ = _parse(policy)
    within = limit is None or restarts < limit
    if name in ("always", "unless-stopped"):
        return within
    if name == "on-failure":
        return exit_code != 0 and within
    return False


def backoff(restarts: int) -> float:
    return min(BACKOFF_MAX, BACKOFF_START * (2 ** max(0, restarts - 1)))


def restart_delay(policy: str, exit_code: int, restart_count: int, ran_for: float,
                  stopped_by_user: bool) -> float | None:
    """Seconds to wait before the container starts again after it exited with
    `exit_code` having run `ran_for` seconds, or None to leave it exited. A run of
    BACKOFF_RESET_AFTER seconds (or the policy's window) or more starts the count (and
    the back-off) afresh."""
    _, _, delay, window = _parse(policy)
    reset_after = BACKOFF_RESET_AFTER if window is None else window
    restarts = 0 if ran_for >= reset_after else restart_count
    if not restart_wanted(policy, exit_code, restarts, stopped_by_user):
        return None
    return backoff(restarts + 1) if delay is None else delay
