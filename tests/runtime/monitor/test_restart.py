"""The restart policy (runtime.monitor.restart): whether and when a container runs again."""
import pytest

from runtime.monitor.restart import BACKOFF_RESET_AFTER, restart_delay


@pytest.mark.parametrize("policy, code, count, ran_for, by_user, delay", [
    ("no", 1, 0, 0.0, False, None),
    ("always", 0, 0, 0.0, False, 0.1),
    ("always", 0, 3, 0.0, False, 0.8),  # back-off doubles with each quick restart
    ("always", 0, 20, 0.0, False, 60.0),  # up to a minute
    ("always", 0, 20, BACKOFF_RESET_AFTER, False, 0.1),  # a long run starts afresh
    ("always", 0, 0, 0.0, True, None),  # stopped by the user
    ("unless-stopped", 137, 1, 0.0, False, 0.2),
    ("on-failure", 0, 0, 0.0, False, None),
    ("on-failure:2", 1, 1, 0.0, False, 0.2),
    ("on-failure:2", 1, 2, 0.0, False, None),  # its limit reached
    ("on-failure:2", 1, 2, 60.0, False, 0.1),  # ... but after a long run the count restarts
])
def test_restart_delay(policy, code, count, ran_for, by_user, delay):
    assert restart_delay(policy, code, count, ran_for, by_user) == delay
