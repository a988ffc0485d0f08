"""Health checks: the container's check command, run in it (runtime.nsexec) at its
interval, and the result recorded in its state as docker records it.

The state's health is "starting" until a check passes ("healthy"); `retries` failures in
a row make it "unhealthy", where failures in the start period count only once a check
passed. The last HEALTH_LOG_KEEP results are kept. A check that outlives its timeout is
killed and fails.
"""
from __future__ import annotations

import os
import signal
import time
from typing import Any, Callable

from .. import init, nsexec
from .. import state as statefile
from ..spec import Healthcheck
from ..state import Health
from .config import Config
from .loop import EventLoop

HEALTH_LOG_KEEP = 5
OUTPUT_KEEP = 4096  # the end of a check's output, as recorded


def enabled(check: Healthcheck | None) -> bool:
    return bool(check and check.test and check.test[0] != "NONE")


def command(test: list[str]) -> list[str]:
    """The argv of a check: ["CMD", argv...] or ["CMD-SHELL", "shell command"]."""
    return test[1:] if test[0] == "CMD" else ["/bin/sh", "-c", " ".join(test[1:])]


def judged(health: Health, result: dict[str, Any], in_start_period: bool,
           retries: int) -> Health:
    """The health after one check's `result` (its "exit_code", 0 for a pass)."""
    status, streak = health.status, health.failing_streak
    if result["exit_code"] == 0:
        status, streak = "healthy", 0
    elif not in_start_period or status != "starting":
        streak += 1
        if streak >= retries:
            status = "unhealthy"
    return Health(status, streak, (health.log + [result])[-HEALTH_LOG_KEEP:])


class HealthChecks:
    """The checks of one container: start() once it runs, stop() when it exited.

    `running()` is PID 1's pid while the container runs, else 0; `changed(status)` is
    called when the health status changes."""

    def __init__(self, loop: EventLoop, config: Config, running: Callable[[], int],
                 changed: Callable[[str], None]) -> None:
        self.loop, self.config = loop, config
        self.check = config.spec.healthcheck
        self.running, self.changed = running, changed
        self.since = 0.0  # when the container started (monotonic)
        self.timer: int | None = None
        self.proc: tuple[int, int, int] | None = None  # relay pid, its pidfd, output fd
        self.output = b""
        self.begun = 0.0
        self.kill_timer: int | None = None
        self.timed_out = False

    @property
    def enabled(self) -> bool:
        return enabled(self.check)

    def in_start_period(self) -> bool:
        assert self.check is not None
        return time.monotonic() - self.since < self.check.start_period

    def start(self, since: float) -> None:
        self.since = since
        self.schedule()

    def schedule(self) -> None:
        assert self.check is not None
        delay = self.check.start_interval if self.in_start_period() else self.check.interval
        self.timer = self.loop.after(delay, self.run)

    def run(self) -> None:
        self.timer = None
        pid, spec = self.running(), self.config.spec
        if not pid or self.check is None:
            return
        out_r, out_w = os.pipe()
        null = os.open(os.devnull, os.O_RDONLY)
        try:
            relay, err_fd = nsexec.spawn(
                pid, command(self.check.test), init.env_dict(spec.env), spec.user,
                spec.working_dir, self.config.caps, spec.no_new_privileges, spec.ulimits,
                spec.group_add, stdio=(null, out_w, out_w),
                cgroup_procs=self.config.cgroup.procs_files(),
                syscall_filter=self.config.syscall_filter)
        except OSError:
            # PID 1 died a moment ago (its namespaces are gone): its exit is being
            # handled; should it live after all, the next check runs as planned
            os.close(out_r)
            self.schedule()
            return
        finally:
            os.close(out_w)
            os.close(null)
        os.close(err_fd)
        pidfd = os.pidfd_open(relay)
        self.output = b""
        self.begun = time.time()
        self.proc = (relay, pidfd, out_r)
        self.loop.watch(out_r, lambda: self.on_output(out_r))
        self.loop.watch(pidfd, self.on_exit)
        self.kill_timer = self.loop.after(self.check.timeout, self.on_timeout)

    def on_output(self, fd: int) -> None:
        data = os.read(fd, 4096)
        if data:
            self.output = (self.output + data)[-OUTPUT_KEEP:]
            return
        self.loop.unwatch(fd)
        os.close(fd)
        if self.proc:
            self.proc = (self.proc[0], self.proc[1], -1)

    def on_timeout(self) -> None:
        self.timed_out = True
        if self.proc:
            _kill(self.proc[0])

    def on_exit(self) -> None:
        assert self.proc is not None
        relay, pidfd, out_r = self.proc
        self.loop.unwatch(pidfd)
        os.close(pidfd)
        if out_r >= 0:
            self.loop.unwatch(out_r)
            os.close(out_r)
        _, status = os.waitpid(relay, 0)
        self.proc = None
        self.loop.cancel(self.kill_timer)
        timed_out, self.timed_out = self.timed_out, False
        code = os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else -1
        self.record(0 if code == 0 and not timed_out else 1,
                    "Health check exceeded timeout" if timed_out
                    else self.output.decode("utf-8", "replace"))
        if self.running():
            self.schedule()

    def record(self, code: int, output: str) -> None:
        assert self.check is not None
        before = statefile.load(self.config.dir).health or Health()
        result = {"start": self.begun, "end": time.time(), "exit_code": code, "output": output}
        health = judged(before, result, self.in_start_period(), self.check.retries)
        statefile.update(self.config.dir, health=health)
        if health.status != before.status:
            self.changed(health.status)

    def stop(self) -> None:
        self.loop.cancel(self.timer)
        self.timer = None
        if self.proc:
            relay, pidfd, out_r = self.proc
            _kill(relay)
            for fd in (pidfd, out_r):
                if fd >= 0:
                    self.loop.unwatch(fd)
                    os.close(fd)
            os.waitpid(relay, 0)
            self.proc = None


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
