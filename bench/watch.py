"""Edit-to-visible latency of `berth watch`: a file edited on the host, until the new
content is served from the container (sync: median of 20; sync+restart: median of 5).

    python3 bench/watch.py        (as root; goals: sync < 200 ms, sync+restart < 1 s,
                                   < 0.5 s when PID 1 cannot get SIGTERM)
"""
from __future__ import annotations

import os
import signal
import statistics
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from up_down import IMAGE, berth_cmd, make_image

from tests.helpers import free_port  # importable: up_down puts the repository on the path

COMPOSE = """
services:
  web:
    build: .
    init: {init}
    user: nobody
    ports: ["127.0.0.1:{port}:80"]
    develop:
      watch:
        - {{path: ./html, action: {action}, target: /www}}
"""


def get(port: int) -> str:
    try:
        return urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).read().decode()
    except OSError:
        return ""


def measure(action: str, rounds: int, work: Path, env: dict, berth: list[str],
            init: bool = True) -> list[float]:
    """`init: false` runs httpd as PID 1: it has no SIGTERM handler, so the restart's stop
    kills it at once rather than waiting out the grace period."""
    project = work / (action.replace("+", "-") + ("" if init else "-pid1"))
    (project / "html").mkdir(parents=True)
    (project / "html" / "index.html").write_text("start\n")
    # with a restart, serve a copy made at start: new content shows only once restarted
    serve = ('["httpd", "-f", "-p", "80", "-h", "/www"]' if action == "sync" else
             '["sh", "-c", "mkdir -p /tmp/s && cp /www/* /tmp/s/ && exec httpd -f -p 80 -h /tmp/s"]')
    (project / "Dockerfile").write_text(f"FROM {IMAGE}\nCOPY html /www\nCMD {serve}\n")
    port = free_port()
    (project / "compose.yaml").write_text(COMPOSE.format(port=port, action=action,
                                                         init=str(init).lower()))
    proc = subprocess.Popen(berth + ["watch"], cwd=project, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while get(port) != "start\n":
            if time.monotonic() > deadline:
                raise RuntimeError("the watched service did not come up")
            time.sleep(0.05)
        time.sleep(1)
        latencies = []
        for i in range(rounds):
            text = f"edit {i}\n"
            started = time.perf_counter()
            (project / "html" / "index.html").write_text(text)
            while get(port) != text:
                time.sleep(0.002)
            latencies.append(time.perf_counter() - started)
            time.sleep(0.2)
        return latencies
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        subprocess.run(berth + ["down", "-t", "1"], cwd=project, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> None:
    berth = berth_cmd()
    with tempfile.TemporaryDirectory(prefix="berth-bench-watch-") as tmp:
        work = Path(tmp)
        env = dict(os.environ, BERTH_ROOT=str(work / "root"))
        make_image(berth, env)
        sync = measure("sync", 20, work, env, berth)
        restart = measure("sync+restart", 5, work, env, berth)
        bare = measure("sync+restart", 5, work, env, berth, init=False)
    print(f"watch sync: median {statistics.median(sync) * 1000:.0f} ms "
          f"(min {min(sync) * 1000:.0f}, max {max(sync) * 1000:.0f}; goal < 200 ms)")
    print(f"watch sync+restart: median {statistics.median(restart) * 1000:.0f} ms "
          f"(min {min(restart) * 1000:.0f}, max {max(restart) * 1000:.0f}; goal < 1000 ms)")
    print(f"watch sync+restart, httpd as PID 1 without init: median "
          f"{statistics.median(bare) * 1000:.0f} ms (min {min(bare) * 1000:.0f}, "
          f"max {max(bare) * 1000:.0f}; goal < 500 ms)")


if __name__ == "__main__":
    main()
