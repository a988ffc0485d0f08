"""Builds and registries: a cold build and a fully cached rebuild of a 10-step Dockerfile,
and the throughput of pulling a 100 MB image from Debian's docker-registry on 127.0.0.1,
beside skopeo copying the same image out of it.

    python3 bench/build_pull.py [--rounds N] [--json FILE]

Runs as root on a scratch BERTH_ROOT; needs Debian's docker-registry (and skopeo for the
comparison).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from up_down import IMAGE, REPO, berth_cmd, median_ms, print_rows

DOCKERFILE = f"""FROM {IMAGE}
ARG GREETING=hello
ENV GREETING=$GREETING
RUN echo one > /one
RUN mkdir -p /app && echo two > /app/two
COPY a.txt /app/
COPY b.txt /app/
RUN sed -i s/two/three/ /app/two
WORKDIR /app
USER nobody
CMD ["cat", "/app/two"]
"""
BIG = f"FROM {IMAGE}\nRUN head -c 104857600 /dev/urandom > /blob\n"  # 100 MiB, incompressible


def timed(cmd: list[str], cwd: Path, env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def bench_build(berth: list[str], env: dict, work: Path, rounds: int) -> dict:
    context = work / "context"
    context.mkdir()
    (context / "Dockerfile").write_text(DOCKERFILE)
    (context / "a.txt").write_text("a\n")
    (context / "b.txt").write_text("b\n")
    build = berth + ["image", "build", "-t", "bench/app", str(context)]
    cold, warm = [], []
    for _ in range(rounds):
        cold.append(timed(build + ["--no-cache"], context, env))
        warm.append(timed(build, context, env))
    return {"build_cold_ms": median_ms(cold), "build_cached_ms": median_ms(warm)}


def start_registry(work: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = {"version": 0.1, "log": {"level": "error"},
              "storage": {"filesystem": {"rootdirectory": str(work / "registry-data")}},
              "http": {"addr": f"127.0.0.1:{port}"}}
    (work / "registry.json").write_text(json.dumps(config))
    proc = subprocess.Popen(["docker-registry", "serve", str(work / "registry.json")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1)
            break
        except (OSError, urllib.error.HTTPError):
            time.sleep(0.05)
    return proc, f"127.0.0.1:{port}"


def bench_pull(berth: list[str], env: dict, work: Path, rounds: int) -> dict:
    """MB/s of compressed image data: berth pulls (and unpacks) into a fresh root each
    round; skopeo copies to a directory."""
    context = work / "big"
    context.mkdir()
    (context / "Dockerfile").write_text(BIG)
    subprocess.run(berth + ["image", "build", "-t", "bench/big", str(context)], env=env,
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proc, registry = start_registry(work)
    try:
        ref = f"{registry}/bench/big:1"
        subprocess.run(berth + ["image", "tag", "bench/big", ref], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        subprocess.run(berth + ["image", "push", ref], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        size = sum(f.stat().st_size for f in (work / "registry-data").rglob("data")
                   if "blobs" in f.parts)
        ours, theirs = [], []
        for i in range(rounds):
            fresh = dict(env, BERTH_ROOT=str(work / f"pull-{i}"))
            ours.append(timed(berth + ["image", "pull", ref], work, fresh))
            if shutil.which("skopeo"):
                target = work / f"skopeo-{i}"
                theirs.append(timed(["skopeo", "copy", "--src-tls-verify=false",
                                     f"docker://{ref}", f"dir:{target}"], work, env))
        out = {"pull_mb_s": round(size / (median_ms(ours) / 1000) / 1e6),
               "image_mb": round(size / 1e6)}
        if theirs:
            out["skopeo_pull_mb_s"] = round(size / (median_ms(theirs) / 1000) / 1e6)
        return out
    finally:
        proc.terminate()
        proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="berth-bench-") as tmp:
        work = Path(tmp)
        env = dict(os.environ, BERTH_ROOT=str(work / "root"))
        berth = berth_cmd()
        subprocess.run([str(REPO / "stacks" / "busybox-image"), IMAGE],
                       env=dict(env, BERTH=" ".join(berth)), check=True,
                       stdout=subprocess.DEVNULL)
        results = bench_build(berth, env, work, args.rounds)
        if shutil.which("docker-registry"):
            results.update(bench_pull(berth, env, work, args.rounds))
    print_rows([("build, 10 steps, no cache (ms)", results["build_cold_ms"], None),
                ("rebuild, 10 steps, all cached (ms)", results["build_cached_ms"], None)],
               other="")
    if "pull_mb_s" in results:
        print(f"\n{'':46} {'berth':>10} {'skopeo':>10} {'ratio':>8}")
        theirs = results.get("skopeo_pull_mb_s")
        ratio = f"{results['pull_mb_s'] / theirs:.1f}x" if theirs else ""
        print(f"{'pull from 127.0.0.1 registry (MB/s)':46} {results['pull_mb_s']:>10} "
              f"{theirs if theirs else '-':>10} {ratio:>8}")
        print(f"(an image of {results['image_mb']} MB; berth also unpacks it, skopeo only "
              "copies; ratio > 1 means berth is faster)")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    sys.exit(main())
