"""The monitor's wire protocol (runtime.protocol): frames, lines, names."""
import signal

import pytest

from runtime.protocol import FRAME, Kind, Op, frame, line, signal_number, split_frames, \
    split_line


def test_frame_kinds_and_ops_keep_their_wire_values():
    assert [(k.name, int(k)) for k in Kind] == [
        ("STDIN", 0), ("STDOUT", 1), ("STDERR", 2), ("EXIT", 3), ("STDIN_CLOSE", 4),
        ("RESIZE", 5), ("ERROR", 6)]
    assert line({"op": Op.STOP, "timeout": 3}) == b'{"op": "stop", "timeout": 3}\n'


def test_frames_are_split_whole_and_the_rest_kept():
    data = frame(Kind.STDOUT, b"abc") + frame(Kind.EXIT, b"0") + frame(Kind.STDERR, b"xyz")
    cut = len(data) - 2
    assert split_frames(data[:cut]) == ([(1, b"abc"), (3, b"0")], data[cut - FRAME.size - 1:cut])
    assert split_frames(data[:3]) == ([], data[:3])


def test_lines_are_split_one_at_a_time():
    assert split_line(b'{"a": 1}\n\x01\x00') == (b'{"a": 1}', b"\x01\x00")
    assert split_line(b'{"a"') == (None, b'{"a"')


@pytest.mark.parametrize("name", ["SIGTERM", "term", "15", 15])
def test_signal_names(name):
    assert signal_number(name) == signal.SIGTERM
