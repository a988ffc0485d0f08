"""container.log as the monitor writes it (runtime.monitor.logfile): docker's json-file
format, lines cut per stream, rotation; read back with runtime.logs."""
import json

from runtime import logs
from runtime.monitor.logfile import MAX_LINE, LogFile, log_time, record
from runtime.protocol import STDERR, STDOUT

NOW = 1_700_000_000_123_456_789  # 2023-11-14T22:13:20.123456789Z


def records(path) -> list[tuple[str, str]]:
    return [(r["stream"], r["log"]) for r in map(json.loads, path.read_text().splitlines())]


def test_docker_json_file_format(tmp_path):
    log = LogFile(tmp_path / "container.log", clock=lambda: NOW)
    log.add(STDOUT, "héllo\n".encode())
    log.close()
    assert (tmp_path / "container.log").read_bytes() == \
        '{"log": "héllo\\n", "stream": "stdout", "time": "2023-11-14T22:13:20.123456789Z"}\n' \
        .encode()
    assert log_time(5) == "1970-01-01T00:00:00.000000005Z"


def test_lines_are_cut_per_stream_and_partial_lines_wait_for_their_end(tmp_path):
    log = LogFile(tmp_path / "container.log", clock=lambda: NOW)
    log.add(STDOUT, b"one\ntw")
    log.add(STDERR, b"err")
    log.add(STDOUT, b"o\nthr")
    assert records(tmp_path / "container.log") == [("stdout", "one\n"), ("stdout", "two\n")]
    log.add(STDERR, b"or\n")
    log.end(STDOUT)  # the stream ended without a newline: the rest as it is
    log.end(STDERR)  # nothing left: nothing written
    assert records(tmp_path / "container.log")[2:] == [("stderr", "error\n"), ("stdout", "thr")]


def test_a_long_line_without_its_newline_is_cut_at_max_line(tmp_path):
    log = LogFile(tmp_path / "container.log", clock=lambda: NOW)
    log.add(STDOUT, b"x" * (MAX_LINE - 1))
    assert records(tmp_path / "container.log") == []
    log.add(STDOUT, b"xx")
    log.add(STDOUT, b"y\n")
    assert records(tmp_path / "container.log") == [("stdout", "x" * MAX_LINE),
                                                   ("stdout", "xy\n")]


def test_bytes_that_are_not_utf8_are_replaced(tmp_path):
    log = LogFile(tmp_path / "container.log", clock=lambda: NOW)
    log.add(STDOUT, b"\xff\n")
    assert records(tmp_path / "container.log") == [("stdout", "\ufffd\n")]


def test_rotation_keeps_max_files_and_drops_the_oldest(tmp_path):
    path = tmp_path / "container.log"
    size = len(record("stdout", b"line 00\n", NOW))
    log = LogFile(path, max_size=3 * size, max_files=3, clock=lambda: NOW)
    for n in range(12):
        log.add(STDOUT, f"line {n:02}\n".encode())
    log.close()
    assert sorted(p.name for p in tmp_path.glob("container.log*")) == \
        ["container.log", "container.log.1", "container.log.2"]
    # rotated with every third record: after lines 2, 5, 8 and 11
    assert records(path.with_name("container.log.2")) == \
        [("stdout", f"line {n:02}\n") for n in (6, 7, 8)]
    assert path.read_bytes() == b""
    assert [line.text for line in logs.read(path)] == [f"line {n:02}\n" for n in range(6, 12)]


def test_one_file_starts_again_empty(tmp_path):
    path = tmp_path / "container.log"
    log = LogFile(path, max_size=100, max_files=1, clock=lambda: NOW)
    log.add(STDOUT, b"first\n")
    log.add(STDOUT, b"second\n")  # over 100 bytes: rotated, nothing kept
    log.add(STDOUT, b"third\n")
    assert list(tmp_path.iterdir()) == [path]
    assert records(path) == [("stdout", "third\n")]


def test_an_existing_log_is_appended_to_and_counts_towards_its_size(tmp_path):
    path = tmp_path / "container.log"
    LogFile(path, clock=lambda: NOW).add(STDOUT, b"before a restart\n")
    size = path.stat().st_size
    log = LogFile(path, max_size=size + 10, max_files=2, clock=lambda: NOW)
    assert log.size == size
    log.add(STDOUT, b"after\n")
    assert records(path.with_name("container.log.1")) == [("stdout", "before a restart\n"),
                                                          ("stdout", "after\n")]
    assert path.read_bytes() == b""
