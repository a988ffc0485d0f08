"""Durations (`1m30s`) and byte sizes (`512m`) as compose files and Dockerfiles write them,
and durations as docker says them (`3 seconds`)."""
from __future__ import annotations

import re
from datetime import datetime, timezone

_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(us|µs|ms|s|m|h)")
_DURATION_UNITS = {"us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_BYTES = re.compile(r"^([0-9]+(?:\.[0-9]+)?) ?([kmgtp]?)i?b?$", re.IGNORECASE)
_BYTE_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


def parse_duration(value: str | int | float) -> float:
    """Seconds in `value`; a bare number is seconds. Raises ValueError."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip()
    if re.fullmatch(r"[0-9]+(?:\.[0-9]+)?", text):
        return float(text)
    pos, total = 0, 0.0
    for match in _DURATION_PART.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        pos = match.end()
    if pos != len(text) or not text:
        raise ValueError(f"invalid duration {value!r}: expected e.g. 10s, 1m30s, 500ms")
    return total


def parse_bytes(value: str | int | float) -> int:
    """Bytes in `value` (`2b`, `1024kb`, `300m`, `1gb`, a bare number). Raises ValueError."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    match = _BYTES.match(str(value).strip())
    if not match:
        raise ValueError(f"invalid size {value!r}: expected e.g. 512m, 1g, 100kb")
    return int(float(match.group(1)) * _BYTE_UNITS[match.group(2).lower()])


def human_duration(seconds: float) -> str:
    """docker's wording: "3 seconds", "Less than a second", "2 hours"."""
    seconds = max(0, int(seconds))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    if seconds < 1:
        return "Less than a second"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


def parse_time(text: str) -> float:
    """An RFC 3339 UTC time with up to nanoseconds (docker's log times) as a unix time."""
    base, _, frac = text.rstrip("Z").partition(".")
    seconds = datetime.strptime(base, "%Y-%m-%dT%H:%M:%S").replace(
        tzinfo=timezone.utc).timestamp()
    return seconds + (float("0." + frac) if frac else 0.0)
