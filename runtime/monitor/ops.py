"""What each request does (runtime.protocol.Op -> handler), for the monitor's server."""
from __future__ import annotations

import signal
from functools import partial
from typing import TYPE_CHECKING, Callable

from .. import state as statefile
from ..protocol import Message, Op, ok, signal_number
from ..state import Status
from .server import Connection, Handler, Mode

if TYPE_CHECKING:
    from .lifecycle import Monitor

STOPPING_SIGNALS = (signal.SIGKILL, signal.SIGTERM, signal.SIGINT, signal.SIGQUIT)


def state(monitor: Monitor, conn: Connection, _request: Message) -> None:
    monitor.server.answer(conn, statefile.load(monitor.config.dir).to_dict())


def stop(monitor: Monitor, conn: Connection, request: Message) -> None:
    conn.mode = Mode.STOPPING
    monitor.stop(request.get("timeout"))


def restart(monitor: Monitor, conn: Connection, request: Message) -> None:
    conn.mode = Mode.RESTARTING
    monitor.restart(request.get("timeout"))


def kill(monitor: Monitor, conn: Connection, request: Message) -> None:
    signum = signal_number(request.get("signal", "SIGKILL"))
    if signum in STOPPING_SIGNALS:
        monitor.stopped_by_user()
        monitor.thaw_if_paused()
    monitor.signal(signum)
    monitor.server.answer(conn, ok())


def wait(_monitor: Monitor, conn: Connection, _request: Message) -> None:
    conn.mode = Mode.WAITING


def pause(monitor: Monitor, conn: Connection, _request: Message) -> None:
    monitor.config.cgroup.freeze()
    monitor.set_state(status=Status.PAUSED)
    monitor.event("pause")
    monitor.server.answer(conn, ok())


def unpause(monitor: Monitor, conn: Connection, _request: Message) -> None:
    monitor.config.cgroup.thaw()
    monitor.set_state(status=Status.RUNNING)
    monitor.event("unpause")
    monitor.server.answer(conn, ok())


def events(monitor: Monitor, conn: Connection, _request: Message) -> None:
    conn.mode = Mode.EVENTS
    conn.reply({"event": "subscribed", "state": statefile.load(monitor.config.dir).to_dict()})


def attach(monitor: Monitor, conn: Connection, request: Message) -> None:
    conn.mode = Mode.ATTACH
    conn.stdin = bool(request.get("stdin"))
    conn.reply(ok())
    monitor.open_gate()


OPS: dict[Op, Callable[[Monitor, Connection, Message], None]] = {
    Op.STATE: state, Op.STOP: stop, Op.RESTART: restart, Op.KILL: kill, Op.WAIT: wait,
    Op.PAUSE: pause, Op.UNPAUSE: unpause, Op.EVENTS: events, Op.ATTACH: attach,
}


def handlers(monitor: Monitor) -> dict[str, Handler]:
    """The table for monitor's server (keyed by the ops' names)."""
    return {op.value: partial(handler, monitor) for op, handler in OPS.items()}
