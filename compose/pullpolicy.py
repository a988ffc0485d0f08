"""`pull_policy`: when `up` (and `run`, `create`) pulls a service's image. Pure.

always, never, missing (if_not_present), build (build it instead), and the refreshing
ones: daily, weekly, every_<duration> (`every_12h`, `every_1w2d`) pull when the image is
missing or its last pull (recorded by the backend) is older than that; `refresh` pulls
when it is older than `pull_refresh_after`, or on every `up` without it (a pull of an
image that did not change fetches its manifest only).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_UNITS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
_EVERY = re.compile(r"^every_((?:[0-9]+[wdhms])+)$")
_FIXED = {"always", "never", "missing", "if_not_present", "build", "refresh"}
_NAMED = {"daily": 86400.0, "weekly": 7 * 86400.0}


class PolicyError(ValueError):
    """Not a pull policy; `key` is the one at fault (pull_policy, pull_refresh_after)."""

    def __init__(self, message: str, key: str = "pull_policy") -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True)
class PullPolicy:
    kind: str  # always, never, missing, build, refresh
    every: float | None = None  # refresh: seconds between pulls (None: each time)

    def pull_wanted(self, present: bool, last_pulled: float | None, now: float) -> bool:
        """Whether to pull now (build: never; the caller builds instead)."""
        if self.kind in ("never", "build"):
            return False
        if self.kind == "always" or not present:
            return True
        if self.kind == "refresh":
            return self.every is None or last_pulled is None or now - last_pulled >= self.every
        return False


def interval(text: str) -> float:
    """`1w2d3h` -> seconds; ValueError when it is not that."""
    if not text or not re.fullmatch(r"(?:[0-9]+[wdhms])+", text):
        raise ValueError(f"invalid duration {text!r}: expected a number and a unit (w, d, h, "
                         "m, s), e.g. 12h or 1w2d")
    return float(sum(int(n) * _UNITS[u] for n, u in re.findall(r"([0-9]+)([wdhms])", text)))


def parse(policy: str | None, refresh_after: str | None = None) -> PullPolicy:
    """The policy a service's `pull_policy` (and `pull_refresh_after`) say; PolicyError
    with the reason when they are not one."""
    text = policy or "missing"
    if refresh_after is not None and text != "refresh":
        raise PolicyError("pull_refresh_after is only used with pull_policy: refresh",
                          "pull_refresh_after")
    if text in _NAMED:
        return PullPolicy("refresh", _NAMED[text])
    if text.startswith("every_"):
        match = _EVERY.match(text)
        if not match:
            raise PolicyError(f"invalid pull_policy {text!r}: every_ needs a duration, e.g. "
                              "every_12h or every_1w2d")
        return PullPolicy("refresh", interval(match.group(1)))
    if text not in _FIXED:
        raise PolicyError(f"invalid pull_policy {text!r}: use always, never, missing, build, "
                          "refresh, daily, weekly or every_<duration>")
    if text == "refresh" and refresh_after is not None:
        try:
            return PullPolicy("refresh", interval(refresh_after))
        except ValueError as err:
            raise PolicyError(str(err), "pull_refresh_after") from None
    return PullPolicy("missing" if text == "if_not_present" else text)


def pull_command_wanted(written: str | None, refresh_after: str | None, flag: str | None,
                        present: bool) -> bool:
    """Whether `berth pull` pulls a service's image, as docker compose decides: with
    `--policy`, as it says (missing, always); else an unset policy, always and the
    refreshing ones pull (an explicit pull is due now), missing pulls when it is not
    here, never and build never."""
    if flag:
        return parse(flag).pull_wanted(present, None, 0.0)
    if written is None:
        return True
    policy = parse(written, refresh_after)
    if policy.kind == "refresh":
        return True
    return policy.pull_wanted(present, None, 0.0)
