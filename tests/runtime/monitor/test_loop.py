"""The monitor's event loop (runtime.monitor.loop): files and timers, one handler at a time."""
import os

from runtime.monitor.loop import EventLoop


def test_timers_fire_in_order_and_can_be_cancelled():
    loop = EventLoop()
    fired = []
    loop.after(0.02, lambda: fired.append("late"))
    loop.after(0.0, lambda: fired.append("soon"))
    loop.cancel(loop.after(0.01, lambda: fired.append("cancelled")))
    loop.cancel(None)  # no timer: nothing to do
    loop.after(0.03, loop.stop)
    loop.run()
    assert fired == ["soon", "late"]


def test_a_readable_file_calls_its_handler():
    loop = EventLoop()
    read_fd, write_fd = os.pipe()
    got = []

    def readable():
        got.append(os.read(read_fd, 10))
        loop.unwatch(read_fd)
        loop.stop()

    loop.watch(read_fd, readable)
    os.write(write_fd, b"hi")
    loop.run()
    assert got == [b"hi"]
    os.close(read_fd)
    os.close(write_fd)


def test_a_file_unwatched_earlier_in_the_same_round_is_not_handled():
    loop = EventLoop()
    pipes = [os.pipe(), os.pipe()]
    handled = []

    def first(fd, other):
        handled.append(fd)
        loop.unwatch(other)  # both were ready in this round
        loop.stop()

    for (read_fd, write_fd), (other, _) in zip(pipes, reversed(pipes)):
        loop.watch(read_fd, lambda fd=read_fd, other=other: first(fd, other))
        os.write(write_fd, b"x")
    loop.run()
    assert len(handled) == 1
    for fds in pipes:
        for fd in fds:
            os.close(fd)
