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
import shutil
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
from tests.helpers import free_port, host_address, in_netns  # noqa: E402


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
           for _ in range(20)]
    out["run_true_cli_ms"] = median_ms(cli)
    try:
        out.update(bench_berth_network(berth, env, work))
    finally:  # `container run` made the default network: its bridge must not outlive the root
        subprocess.run(berth + ["network", "rm", "bridge"], env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    return out


def bench_runc(work: Path) -> dict:
    """`runc run` of `true` in a busybox bundle (median of 20), for scale."""
    from tests.helpers import busybox_rootfs

    bundle = work / "runc-bundle"
    busybox_rootfs(bundle / "rootfs")
    subprocess.run(["runc", "spec", "--bundle", str(bundle)], check=True)
    config = json.loads((bundle / "config.json").read_text())
    config["process"].update(args=["true"], terminal=False)
    (bundle / "config.json").write_text(json.dumps(config))
    times = []
    for i in range(20):
        times.append(timed(["runc", "run", "--bundle", str(bundle), f"berth-bench-{i}"], work,
                           dict(os.environ)))
        subprocess.run(["runc", "delete", "-f", f"berth-bench-{i}"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    return {"run_true_cli_ms": median_ms(times)}


def bench_berth_network(berth: list[str], env: dict, work: Path) -> dict:
    import dns.message
    import dns.query

    from runtime.containers import Containers
    from runtime.network.api import Networks
    from runtime.paths import Paths

    port, stream_port = free_port(), free_port()
    subprocess.run(berth + ["network", "create", "benchnet"], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run(berth + ["container", "run", "-d", "--name", "srv", "--network", "benchnet",
                            "--tmpfs", "/www:size=128m", "-p", f"127.0.0.1:{port}:80",
                            "-p", f"{stream_port}:9000", "--init",
                            IMAGE, "sh", "-c",
                            "echo ok > /www/index.html; "
                            "dd if=/dev/zero of=/www/big bs=1M count=64 2>/dev/null; "
                            "mkdir -p /bench && truncate -s 1G /bench/huge && "
                            "httpd -p 9000 -h /bench && "
                            "exec httpd -f -p 80 -h /www"],
                   env=env, check=True, stdout=subprocess.DEVNULL)
    try:
        paths = Paths.from_env(env)
        gateway = Networks(paths).get("benchnet").gateway
        _wait_http(port)
        query = dns.message.make_query("srv", "A")
        latencies = in_netns(str(paths.netns / Containers(paths).get("srv").id),
                              lambda: _dns_latencies(query, gateway, 2000))
        latencies.sort()
        figures = {"dns_query_ms": round(statistics.median(latencies) * 1000, 3),
                   "dns_query_p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 3),
                   "dns_queries_per_s": round(len(latencies) / sum(latencies))}
        figures.update(_port_figures(port))
        direct = Networks(paths).endpoints(Containers(paths).get("srv").id).attachments[0].ip
        _stream(direct, 9000)  # the first read fills the page cache with the file's zeros
        figures["stream_direct_mb_s"] = _stream(direct, 9000)
        figures["stream_published_mb_s"] = _stream(host_address() or "127.0.0.1", stream_port)
        figures["stream_published_loopback_mb_s"] = _stream("127.0.0.1", stream_port)
        return figures
    finally:
        subprocess.run(berth + ["container", "rm", "-f", "srv"], env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run(berth + ["network", "rm", "benchnet"], env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _dns_latencies(query, server: str, count: int) -> list[float]:
    import dns.query

    latencies = []
    for _ in range(count):
        t = time.perf_counter()
        dns.query.udp(query, server, timeout=2)
        latencies.append(time.perf_counter() - t)
    return latencies


def _stream(host: str, port: int) -> int:
    """MB/s of a 1 GiB HTTP download (a sparse file, so the disk is not what is measured)."""
    t = time.perf_counter()
    size = 0
    with socket.create_connection((host, port), timeout=10) as conn:
        conn.sendall(b"GET /huge HTTP/1.0\r\n\r\n")
        buffer = bytearray(1 << 20)
        while n := conn.recv_into(buffer):
            size += n
    if size < 1 << 30:
        raise RuntimeError(f"the download ended early ({size} bytes)")
    return round(size / (time.perf_counter() - t) / 1e6)


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
    port = free_port()
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
        if shutil.which("runc"):
            results["runc"] = bench_runc(work)
    rows = [("up -d, 10 services (ms)", "up_10_services_ms"),
            ("up -d, 10 services, no project cache (ms)", "up_10_services_uncached_ms"),
            ("down -t 0, 10 services (ms)", "down_10_services_ms"),
            ("container start, API (ms)", "start_latency_api_ms"),
            ("run `true` to exit, API (ms)", "run_true_api_ms"),
            ("run --rm `true`, CLI (ms)", "run_true_cli_ms"),
            ("DNS query from a container, p50 (ms)", "dns_query_ms"),
            ("DNS query from a container, p99 (ms)", "dns_query_p99_ms"),
            ("DNS queries per second (sequential)", "dns_queries_per_s"),
            ("published port, HTTP request (ms)", "port_request_ms"),
            ("published port, throughput (MB/s)", "port_throughput_mb_s"),
            ("1 GiB from the container's own IP (MB/s)", "stream_direct_mb_s"),
            ("1 GiB, published port, host's address (MB/s)", "stream_published_mb_s"),
            ("1 GiB, published port, 127.0.0.1 (MB/s)", "stream_published_loopback_mb_s")]
    docker = results.get("docker", {})
    print_rows([(label, results["berth"].get(key), docker.get(key)) for label, key in rows],
               higher_is_better=("published port, throughput (MB/s)",
                                 "DNS queries per second (sequential)",
                                 "1 GiB from the container's own IP (MB/s)",
                                 "1 GiB, published port, host's address (MB/s)",
                                 "1 GiB, published port, 127.0.0.1 (MB/s)"))
    ours = results["berth"]
    if ours.get("stream_direct_mb_s"):
        direct = ours["stream_direct_mb_s"]
        print(f"published port: {ours['stream_published_mb_s'] / direct:.0%} of the container's "
              f"own address through the host's address, "
              f"{ours['stream_published_loopback_mb_s'] / direct:.0%} through 127.0.0.1")
    if "runc" in results:
        print(f"runc run `true` (median of 20): {results['runc']['run_true_cli_ms']} ms "
              f"(berth's own CLI: {ours['run_true_cli_ms']} ms, its API: "
              f"{ours['run_true_api_ms']} ms)")
    if docker:
        print(f"(docker side: {docker['compose']}; ratio > 1 means berth is faster)")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
