"""The protocol of a monitor's control socket, shared by the monitor (runtime.monitor), its
client (runtime.client) and the CLI.

A connection carries one request, a JSON object on one line, naming its `op`; replies are
JSON lines too:

    state                   -> the container's state (runtime.state.State.to_dict())
    stop {timeout}          -> {"exit_code": N} once the container exited
    restart {timeout}       -> {"ok": true} once it runs again, else {"ok": false, "exit_code": N}
    kill {signal}           -> {"ok": true}
    wait                    -> {"exit_code": N} once the container exited
    pause, unpause          -> {"ok": true}
    events                  -> {"event": "subscribed", "state": {...}}, then one
                               {"event": NAME, "time": T, ...} per change, "gone" the last
    attach {stdin}          -> {"ok": true}, then frames both ways (below)

A request that fails gets {"error": "why"}. After `attach`, both sides send frames: kind
(1 byte) + length (4 bytes, big endian) + payload; the monitor sends the container's
output, a start error and its exit code, the client its input and terminal size.

The monitor also tells the command that started it, on a pipe, in one line, whether the
container runs (ok(pid=N)) or could not start (failed(...)).
"""
from __future__ import annotations

import json
import signal
import struct
import time
from enum import Enum, IntEnum
from typing import Any

Message = dict[str, Any]


# --- requests --------------------------------------------------------------------------

class Op(str, Enum):
    """What a request asks of the monitor."""

    STATE = "state"
    STOP = "stop"
    RESTART = "restart"
    KILL = "kill"
    WAIT = "wait"
    PAUSE = "pause"
    UNPAUSE = "unpause"
    EVENTS = "events"
    ATTACH = "attach"


def signal_number(name: str | int) -> int:
    """A signal as a request (kill) or a spec (stop_signal) names it: "SIGTERM", "term",
    "15" or 15."""
    if isinstance(name, int) or str(name).isdigit():
        return int(name)
    name = str(name).upper()
    return int(getattr(signal, name if name.startswith("SIG") else "SIG" + name))


def line(message: Message) -> bytes:
    """A request or reply as sent: one JSON line."""
    return json.dumps(message).encode() + b"\n"


def split_line(buffer: bytes) -> tuple[bytes | None, bytes]:
    """The first complete line of `buffer` (without its newline; None while there is
    none), and the rest: after `attach`, what follows the line may be frames."""
    if b"\n" not in buffer:
        return None, buffer
    first, rest = buffer.split(b"\n", 1)
    return first, rest


# --- replies ---------------------------------------------------------------------------

def ok(**extra: Any) -> Message:
    return {"ok": True, **extra}


def failed(error: str, exit_code: int) -> Message:
    """The container could not start (also the starter's message)."""
    return {"ok": False, "error": error, "exit_code": exit_code}


def error(why: str) -> Message:
    """A request that could not be served."""
    return {"error": why}


def exited(exit_code: int) -> Message:
    return {"exit_code": exit_code}


def event(name: str, **extra: Any) -> Message:
    return {"event": name, "time": time.time(), **extra}


# --- attach frames ---------------------------------------------------------------------

FRAME = struct.Struct(">BI")


class Kind(IntEnum):
    """What an attach frame carries."""

    STDIN = 0  # client -> monitor: input for the container
    STDOUT = 1  # monitor -> client: the container's output
    STDERR = 2
    EXIT = 3  # monitor -> client: the exit code (decimal); the last frame
    STDIN_CLOSE = 4  # client -> monitor: end of input
    RESIZE = 5  # client -> monitor: the terminal's rows and columns (two big-endian u16)
    ERROR = 6  # monitor -> client: why the container could not start


STDIN, STDOUT, STDERR, EXIT, STDIN_CLOSE, RESIZE, ERROR = Kind


def frame(kind: int, payload: bytes) -> bytes:
    return FRAME.pack(kind, len(payload)) + payload


def split_frames(buffer: bytes) -> tuple[list[tuple[int, bytes]], bytes]:
    """The complete frames at the start of `buffer` as (kind, payload), and the rest."""
    frames = []
    while len(buffer) >= FRAME.size:
        kind, length = FRAME.unpack_from(buffer)
        if len(buffer) < FRAME.size + length:
            break
        frames.append((kind, buffer[FRAME.size:FRAME.size + length]))
        buffer = buffer[FRAME.size + length:]
    return frames, buffer
