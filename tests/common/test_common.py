"""What compose and the runtime share: units, times, references, ignore patterns."""
import pytest

from common.errors import BerthError
from common.patterns import Ignore
from common.reference import ReferenceError, parse
from common.units import parse_bytes, parse_duration, parse_time
from compose.errors import ComposeError


def test_durations():
    assert parse_duration("1m30s") == 90.0 and parse_duration("500ms") == 0.5
    assert parse_duration(3) == 3.0 and parse_duration("1.5h") == 5400.0
    for bad in ("", "10x", "1m 30s", "m"):
        with pytest.raises(ValueError, match="invalid duration"):
            parse_duration(bad)


def test_sizes():
    assert parse_bytes("512m") == 512 << 20 and parse_bytes("1gb") == 1 << 30
    assert parse_bytes("2b") == 2 and parse_bytes(1024) == 1024
    with pytest.raises(ValueError, match="invalid size"):
        parse_bytes("12zz")


def test_rfc3339_times_with_nanoseconds():
    assert parse_time("1970-01-01T00:00:10Z") == 10.0
    assert parse_time("2026-01-01T00:00:00.250000000Z") == pytest.approx(1767225600.25)


def test_references_are_normalized_like_docker():
    ref = parse("busybox")
    assert str(ref) == "docker.io/library/busybox:latest" and ref.familiar() == "busybox:latest"
    assert parse("localhost:5000/a/b@sha256:" + "0" * 64).domain == "localhost:5000"
    with pytest.raises(ReferenceError):
        parse("UPPER/case")


def test_ignore_patterns_last_match_wins():
    ignore = Ignore(["*.log", "!keep.log", "build/**"])
    assert ignore.ignored("debug.log") and not ignore.ignored("keep.log")
    assert ignore.ignored("build/out/x.o") and not ignore.ignored("src/main.c")


def test_one_error_type_for_the_cli():
    assert issubclass(ComposeError, BerthError)
    from runtime.errors import BerthError as RuntimeBerthError

    assert RuntimeBerthError is BerthError
