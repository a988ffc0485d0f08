"""`up -d` and `down -t 0` of a 10-service and a 50-service stack (a depends_on tree of
busybox httpd services), 5 runs each, median; the same files with docker compose in the
same run where docker is there, and the ratio.

    python3 bench/up_down.py [--rounds N] [--sizes 10,50] [--json FILE] [--rootless]

Runs as root on a scratch BERTH_ROOT; --rootless also runs the stacks as an ordinary
user (bench/rootless.py) and prints them beside root's.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

IMAGE = "bench/busybox"
FAN_OUT = 3  # each service is depended on by up to three others: a tree of levels


def berth_cmd() -> list[str]:
    """The installed `berth` script next to this Python (no shell shims in the way)."""
    script = Path(sys.executable).with_name("berth")
    return [str(script)] if script.exists() else [sys.executable, "-m", "compose"]


def timed(cmd: list[str], cwd: Path, env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def median_ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 1)


def write_stack(directory: Path, services: int) -> Path:
    """s0 is the root; s(i) depends on s((i-1)//FAN_OUT)."""
    directory.mkdir(parents=True, exist_ok=True)
    lines = ["services:"]
    for i in range(services):
        lines += [f"  s{i}:", f"    image: {IMAGE}", "    command: httpd -f -p 8080",
                  "    init: true"]
        if i:
            lines += [f"    depends_on: [s{(i - 1) // FAN_OUT}]"]
    (directory / "docker-compose.yml").write_text("\n".join(lines) + "\n")
    return directory


def run_rounds(up: list[str], down: list[str], stack: Path, env: dict, rounds: int,
               cold_env: dict | None = None) -> dict:
    ups, downs, cold = [], [], []
    for _ in range(rounds):
        if cold_env is not None:
            cold.append(timed(up, stack, cold_env))
            downs.append(timed(down, stack, env))
        ups.append(timed(up, stack, env))
        downs.append(timed(down, stack, env))
    out = {"up_ms": median_ms(ups), "down_ms": median_ms(downs)}
    if cold:
        out["up_uncached_ms"] = median_ms(cold)
    return out


def make_image(berth: list[str], env: dict) -> None:
    """The busybox image every benchmark runs, in env's BERTH_ROOT."""
    subprocess.run([str(REPO / "stacks" / "busybox-image"), IMAGE],
                   env=dict(env, BERTH=" ".join(berth)), check=True, stdout=subprocess.DEVNULL)


def bench_berth(sizes: list[int], rounds: int, work: Path) -> dict:
    env = dict(os.environ, BERTH_ROOT=str(work / "root"))
    berth = berth_cmd()
    make_image(berth, env)
    out = {}
    for size in sizes:
        stack = write_stack(work / f"berth-{size}", size)
        out[size] = run_rounds(berth + ["up", "-d"], berth + ["down", "-t", "0"], stack, env,
                               rounds, cold_env=dict(env, BERTH_NO_CACHE="1"))
    return out


def docker_available() -> bool:
    if not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "info"], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0


def docker_compose() -> list[str]:
    return ["docker-compose"] if shutil.which("docker-compose") else ["docker", "compose"]


def import_docker_image(work: Path) -> None:
    from tests.helpers import busybox_rootfs

    tree = busybox_rootfs(work / "docker-rootfs")
    archive = work / "docker-rootfs.tar"
    subprocess.run(["tar", "-C", str(tree), "-cf", str(archive), "."], check=True)
    subprocess.run(["docker", "import", str(archive), IMAGE], check=True,
                   stdout=subprocess.DEVNULL)


def bench_docker(sizes: list[int], rounds: int, work: Path) -> dict:
    """Needs the image imported (import_docker_image)."""
    compose = docker_compose()
    out = {}
    for size in sizes:
        stack = write_stack(work / f"docker-{size}", size)
        project = ["-p", f"benchstack{size}"]
        out[size] = run_rounds(compose + project + ["up", "-d"],
                               compose + project + ["down", "-t", "0"], stack, dict(os.environ),
                               rounds)
    return out


def rows(berth: dict, docker: dict) -> list[tuple[str, float | None, float | None]]:
    out = []
    for size in berth:
        out.append((f"up -d, {size} services (ms)", berth[size]["up_ms"],
                    docker.get(size, {}).get("up_ms")))
        out.append((f"up -d, {size} services, no project cache (ms)",
                    berth[size]["up_uncached_ms"], None))
        out.append((f"down -t 0, {size} services (ms)", berth[size]["down_ms"],
                    docker.get(size, {}).get("down_ms")))
    return out


def print_rows(table: list[tuple[str, float | None, float | None]], higher_is_better=(),
               other: str = "docker") -> None:
    print(f"{'':46} {'berth':>10} {other:>10} {'ratio':>8}")
    for label, ours, theirs in table:
        ratio = ""
        if ours and theirs:
            ratio = f"{ours / theirs:.1f}x" if label in higher_is_better else f"{theirs / ours:.1f}x"
        print(f"{label:46} {ours if ours is not None else '-':>10} "
              f"{theirs if theirs is not None else '-':>10} {ratio:>8}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sizes", default="10,50")
    parser.add_argument("--json")
    parser.add_argument("--rootless", action="store_true", help="also as an ordinary user")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="berth-bench-") as tmp:
        work = Path(tmp)
        results = {"berth": bench_berth(sizes, args.rounds, work)}
        if args.rootless:
            from bench.rootless import bench_rootless
            results["rootless"] = bench_rootless(sizes, args.rounds, IMAGE, write_stack, timed,
                                                 median_ms)
        if docker_available():
            import_docker_image(work)
            try:
                results["docker"] = bench_docker(sizes, args.rounds, work)
            finally:
                subprocess.run(["docker", "rmi", IMAGE], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    print_rows(rows(results["berth"], results.get("docker", {})))
    if "rootless" in results:
        from bench.rootless import print_beside
        print_beside(rows(results["berth"], {}), rows(results["rootless"], {}))
    if "docker" in results:
        print(f"(docker side: {' '.join(docker_compose())}; ratio > 1 means berth is faster)")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
