"""The rootless side of bench/up_down.py --rootless: the same stacks, up and down by an
ordinary user (tests/rootless/setup.py makes it, as root), in its own session."""
from __future__ import annotations

import shutil
import subprocess
import time


def bench_rootless(sizes: list[int], rounds: int, image: str, write_stack, timed,
                   median_ms) -> dict:
    """{size: {"up_ms", "down_ms", "up_uncached_ms"}}, measured as up_down.run_rounds
    measures root's (the helpers are up_down's own)."""
    from tests.helpers import busybox_rootfs
    from tests.rootless.setup import Workspace

    user = Workspace.make("berth-bench-rootless-")
    try:
        tree = busybox_rootfs(user.base / "rootfs")
        user.give(tree)
        subprocess.run(user.command("image", "import", str(tree), image, "--change",
                                    'CMD ["sh"]'), check=True, stdout=subprocess.DEVNULL)
        out = {}
        for size in sizes:
            stack = write_stack(user.home / f"stack-{size}", size)
            user.give(stack)
            up, down = user.command("up", "-d"), user.command("down", "-t", "0")
            cold_up = user.command("up", "-d", BERTH_NO_CACHE="1")
            ups, downs, cold = [], [], []
            for _ in range(rounds):
                cold.append(timed(cold_up, stack, {}))
                downs.append(timed(down, stack, {}))
                ups.append(timed(up, stack, {}))
                downs.append(timed(down, stack, {}))
            out[size] = {"up_ms": median_ms(ups), "down_ms": median_ms(downs),
                         "up_uncached_ms": median_ms(cold)}
        return out
    finally:
        _wait_idle(user.entry.pw_name)
        shutil.rmtree(user.base)


def _wait_idle(name: str, timeout: float = 15) -> None:
    """Until the user's session has ended (nothing of the user's runs)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and subprocess.run(
            ["pgrep", "-u", name], capture_output=True).returncode == 0:
        time.sleep(0.1)


def print_beside(root_rows: list, rootless_rows: list) -> None:
    """Root's and the user's figures, with rootless / root (the issue's bound: 1.5x)."""
    print(f"\n{'':46} {'root':>10} {'rootless':>10} {'ratio':>8}")
    for (label, root, _), (_, rootless, _) in zip(root_rows, rootless_rows):
        print(f"{label:46} {root:>10} {rootless:>10} {rootless / root:>7.2f}x")
    print("(ratio: rootless time / root time)")
