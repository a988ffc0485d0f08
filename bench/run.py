"""berth's benchmarks: up/down of a 10-service stack (bench/up_down.py, which also does
50 services), container start latency, DNS and published-port figures; the same with
docker and docker compose when they are there.

    python3 bench/run.py [--rounds N] [--json FILE]

Runs as root on a scratch BERTH_ROOT; prints a table (and the figures as JSON).
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from up_down import (IMAGE, berth_cmd, docker_available, import_docker_image,  # noqa: E402
                     median_ms, print_rows, timed)
import up_down  # noqa: E402


def bench_berth(rounds: int, work: Path) -> dict:
    from runtime.containers import Containers
    from runtime.create import RunOptions
    from runtime.paths import Paths

    env = dict(os.environ, BERTH_ROOT=str(work / "root"))
    berth = berth_cmd()
    stack = up_down.bench_berth([10], rounds, work)[10]  # also makes the image
    out: dict = {"up_10_services_ms": stack["up_ms"],
                 "up_10_services_uncached_ms": stack["up_uncached_ms"],
                 "down_10_services_ms": stack["down_ms"]}

    api = Containers(Paths(work / "root", work / "root" / "run"))
    image = api.images.get(IMAGE)
    starts, runs = [], []
    for i in range(20):
        t = time.perf_counter()
        container = api.create(image, RunOptions(command=["true"]))
        api.start(container.id)
        starts.append(time.perf_counter() - t)
        api.wait(container.id)
        runs.append(time.perf_counter() - t)
        api.remove(container.id)
    out["start_latency_api_ms"] = median_ms(starts)
    out["run_true_api_ms"] = median_ms(runs)
    cli = [timed(berth + ["container", "run", "--rm", IMAGE, "true"], work, env)
           for _ in range(10)]
    out["run_true_cli_ms"] = median_ms(cli)
    out.update(bench_berth_network(berth, env, work))
    return out


def bench_berth_network(berth: list[str], env: dict, work: Path) -> dict:
    import dns.message
    import dns.query

    from runtime.network.api import Networks
    from runtime.paths import Paths

    port = _free_port()
    subprocess.run(berth + ["network", "create", "benchnet"], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run(berth + ["container", "run", "-d", "--name", "srv", "--network", "benchnet",
                            "--tmpfs", "/www:size=128m", "-p", f"127.0.0.1:{port}:80", "--init",
                            IMAGE, "sh", "-c",
                            "echo ok > /www/index.html; "
                            "dd if=/dev/zero of=/www/big bs=1M count=64 2>/dev/null; "
                            "exec httpd -f -p 80 -h /www"],
                   env=env, check=True, stdout=subprocess.DEVNULL)
    try:
        gateway = Networks(Paths.from_env(env)).get("benchnet").gateway
        _wait_http(port)
        latencies = []
        query = dns.message.make_query("srv", "A")
        for _ in range(300):
            t = time.perf_counter()
            dns.query.udp(query, gateway, timeout=2)
            latencies.append(time.perf_counter() - t)
        figures = {"dns_query_ms": round(statistics.median(latencies) * 1000, 3),
                   "dns_queries_per_s": round(len(latencies) / sum(latencies))}
        figures.update(_port_figures(port))
        return figures
    finally:
        subprocess.run(berth + ["container", "rm", "-f", "srv"], env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run(berth + ["network", "rm", "benchnet"], env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(port: int, path: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(f"GET {path} HTTP/1.0\r\n\r\n".encode())
        data = bytearray()
        while chunk := conn.recv(1 << 20):
            data += chunk
    return bytes(data)


def _wait_http(port: int) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            if _get(port, "/").endswith(b"ok\n"):
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError("the benchmark web server did not come up")


def _port_figures(port: int) -> dict:
    latencies = []
    for _ in range(200):
        t = time.perf_counter()
        _get(port, "/")
        latencies.append(time.perf_counter() - t)
    t = time.perf_counter()
    size = len(_get(port, "/big"))
    elapsed = time.perf_counter() - t
    return {"port_request_ms": round(statistics.median(latencies) * 1000, 3),
            "port_throughput_mb_s": round(size / elapsed / 1e6)}


# --- docker, side by side ------------------------------------------------------------------

def bench_docker(rounds: int, work: Path) -> dict:
    import_docker_image(work)
    stack = up_down.bench_docker([10], rounds, work)[10]
    env = dict(os.environ)
    out: dict = {"compose": " ".join(up_down.docker_compose()),
                 "up_10_services_ms": stack["up_ms"], "down_10_services_ms": stack["down_ms"]}
    runs = [timed(["docker", "run", "--rm", IMAGE, "true"], work, env) for _ in range(10)]
    out["run_true_cli_ms"] = median_ms(runs)
    port = _free_port()
    subprocess.run(["docker", "run", "-d", "--name", "benchsrv", "-p", f"127.0.0.1:{port}:80",
                    "--tmpfs", "/www:size=128m", IMAGE, "sh", "-c",
                    "echo ok > /www/index.html; dd if=/dev/zero of=/www/big bs=1M count=64 "
                    "2>/dev/null; exec httpd -f -p 80 -h /www"], check=True,
                   stdout=subprocess.DEVNULL)
    try:
        _wait_http(port)
        out.update(_port_figures(port))
    finally:
        subprocess.run(["docker", "rm", "-f", "benchsrv"], stdout=subprocess.DEVNULL)
        subprocess.run(["docker", "rmi", IMAGE], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="berth-bench-") as tmp:
        work = Path(tmp)
        results = {"berth": bench_berth(args.rounds, work)}
        if docker_available():
            results["docker"] = bench_docker(args.rounds, work)
    rows = [("up -d, 10 services (ms)", "up_10_services_ms"),
            ("up -d, 10 services, no project cache (ms)", "up_10_services_uncached_ms"),
            ("down -t 0, 10 services (ms)", "down_10_services_ms"),
            ("container start, API (ms)", "start_latency_api_ms"),
            ("run `true` to exit, API (ms)", "run_true_api_ms"),
            ("run --rm `true`, CLI (ms)", "run_true_cli_ms"),
            ("DNS query, median (ms)", "dns_query_ms"),
            ("DNS queries per second (sequential)", "dns_queries_per_s"),
            ("published port, HTTP request (ms)", "port_request_ms"),
            ("published port, throughput (MB/s)", "port_throughput_mb_s")]
    docker = results.get("docker", {})
    print_rows([(label, results["berth"].get(key), docker.get(key)) for label, key in rows],
               higher_is_better=("published port, throughput (MB/s)",
                                 "DNS queries per second (sequential)"))
    if docker:
        print(f"(docker side: {docker['compose']}; ratio > 1 means berth is faster)")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
