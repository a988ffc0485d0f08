"""A container's state: status, allowed transitions, and its state.json.

The monitor writes the state while the container runs; commands write it when no
monitor does (create, remove). Every write is atomic and made under the container's
lock, so a reader never sees half a state.
"""
from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from .fsutil import locked, read_json, write_json


class Status(str, Enum):
    CREATED = "created"
    RUNNING = "running"
    RESTARTING = "restarting"
    PAUSED = "paused"
    EXITED = "exited"
    DEAD = "dead"


TRANSITIONS: dict[Status, set[Status]] = {
    Status.CREATED: {Status.RUNNING, Status.EXITED, Status.DEAD},
    Status.RUNNING: {Status.EXITED, Status.PAUSED, Status.RESTARTING, Status.DEAD},
    Status.PAUSED: {Status.RUNNING, Status.EXITED, Status.DEAD},
    Status.RESTARTING: {Status.RUNNING, Status.EXITED, Status.DEAD},
    Status.EXITED: {Status.RUNNING, Status.RESTARTING, Status.DEAD},
    Status.DEAD: {Status.RUNNING, Status.EXITED},
}


class StateTransitionError(RuntimeError):
    def __init__(self, current: Status, wanted: Status) -> None:
        super().__init__(f"cannot go from {current.value} to {wanted.value}")
        self.current, self.wanted = current, wanted


@dataclass
class Health:
    status: str = "starting"  # starting, healthy, unhealthy
    failing_streak: int = 0
    log: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class State:
    status: Status = Status.CREATED
    pid: int = 0
    monitor_pid: int = 0
    monitor_started: int = 0  # the monitor's start time (clock ticks) to recognise it
    exit_code: int | None = None
    error: str = ""
    created_at: float = field(default_factory=time.time)
    started_at: float = 0.0
    finished_at: float = 0.0
    restart_count: int = 0
    oom_killed: bool = False
    stopped_by_user: bool = False
    health: Health | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "State":
        data = dict(data)
        data["status"] = Status(data.get("status", "created"))
        if data.get("health"):
            data["health"] = Health(**data["health"])
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def state_path(container_dir: Path) -> Path:
    return container_dir / "state.json"


def lock_path(container_dir: Path) -> Path:
    return container_dir / "lock"


def load(container_dir: Path) -> State:
    data = read_json(state_path(container_dir))
    return State.from_dict(data) if data else State()


def save(container_dir: Path, state: State) -> None:
    write_json(state_path(container_dir), state.to_dict())


def update(container_dir: Path, **changes: Any) -> State:
    """Read-modify-write under the container lock; status changes are checked."""
    with locked(lock_path(container_dir)):
        state = load(container_dir)
        wanted = changes.get("status")
        if wanted is not None and wanted != state.status and wanted not in TRANSITIONS[state.status]:
            raise StateTransitionError(state.status, wanted)
        for key, value in changes.items():
            setattr(state, key, value)
        save(container_dir, state)
        return state


def process_start_time(pid: int) -> int:
    """A process's start time in clock ticks (0 if gone or a zombie): tells a pid from its
    reuse."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read()
    except OSError:
        return 0
    fields = data[data.rindex(b")") + 2:].split()
    return 0 if fields[0] in (b"Z", b"X") else int(fields[19])


def monitor_alive(state: State) -> bool:
    return bool(state.monitor_pid) and process_start_time(state.monitor_pid) == state.monitor_started


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
