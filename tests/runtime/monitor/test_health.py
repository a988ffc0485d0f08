"""Health checks' pure parts (runtime.monitor.health): the command, and the health state
after each result, as docker judges it."""
import pytest

from runtime.monitor.health import HEALTH_LOG_KEEP, command, enabled, judged
from runtime.spec import Healthcheck
from runtime.state import Health


def result(code: int, n: int = 0) -> dict:
    return {"start": n, "end": n, "exit_code": code, "output": ""}


def test_which_checks_run_and_how():
    assert not enabled(None) and not enabled(Healthcheck(test=["NONE"]))
    assert enabled(Healthcheck(test=["CMD", "true"]))
    assert command(["CMD", "curl", "-f", "http://x/"]) == ["curl", "-f", "http://x/"]
    assert command(["CMD-SHELL", "test -f /ready"]) == ["/bin/sh", "-c", "test -f /ready"]


@pytest.mark.parametrize("before, code, in_start, after", [
    (("starting", 0), 0, True, ("healthy", 0)),
    (("unhealthy", 5), 0, False, ("healthy", 0)),
    (("starting", 0), 1, True, ("starting", 0)),  # the start period forgives failures ...
    (("healthy", 0), 1, True, ("healthy", 1)),  # ... until a check passed
    (("starting", 0), 1, False, ("starting", 1)),
    (("healthy", 1), 1, False, ("healthy", 2)),
    (("healthy", 2), 1, False, ("unhealthy", 3)),  # `retries` (3) failures in a row
])
def test_health_after_a_check(before, code, in_start, after):
    health = judged(Health(*before), result(code), in_start, retries=3)
    assert (health.status, health.failing_streak) == after
    assert health.log == [result(code)]


def test_the_last_results_are_kept():
    health = Health()
    for n in range(HEALTH_LOG_KEEP + 2):
        health = judged(health, result(0, n), False, retries=3)
    assert [entry["start"] for entry in health.log] == list(range(2, HEALTH_LOG_KEEP + 2))
