"""docker's device cgroup rules ("c 1:3 rwm": type, major:minor, access), checked alike for
`container run --device-cgroup-rule` and compose's `device_cgroup_rules`."""
from __future__ import annotations

import re

_RULE = re.compile(r"[abc] (\d+|\*):(\d+|\*) [rwm]{1,3}")
EXPECTED = "expected 'TYPE MAJOR:MINOR PERMS' (e.g. 'c 1:3 rwm')"


def valid(rule: str) -> bool:
    return _RULE.fullmatch(rule) is not None
