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
import subprocess
import sys
import tempfile
from pathlib import Path

from up_down import IMAGE, berth_cmd, make_image, median_ms, print_rows, timed

from tests.helpers import start_registry  # importable: up_down puts the repository on the path

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
        make_image(berth, env)
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
