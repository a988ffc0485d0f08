"""Builds and registries: a cold build and a fully cached rebuild of a 10-step Dockerfile;
a dependency-install step with a cache mount, built once with an empty cache and again
after its requirements file changed (the cache makes the second build fetch only the new
package), beside docker's BuildKit doing the same where dockerd runs; and the throughput
of pulling a 100 MB image from Debian's docker-registry on 127.0.0.1, beside skopeo
copying the same image out of it.

    python3 bench/build_pull.py [--rounds N] [--json FILE]

Runs as root on a scratch BERTH_ROOT; needs Debian's docker-registry (and skopeo for the
comparison). The package manager of the install step is a stand-in: "fetching" a
package makes 16 MiB of compressed data (CPU-bound, about what a wheel download and
unpack costs here); "installing" it checks it and records its name.
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
INSTALL = f"""FROM {IMAGE}
COPY requirements.txt /tmp/
RUN --mount=type=cache,target=/var/cache/pkgs mkdir -p /site && \\
    for p in $(cat /tmp/requirements.txt); do \\
      [ -f /var/cache/pkgs/$p ] || head -c 16777216 /dev/urandom | gzip -1 > /var/cache/pkgs/$p; \\
      gzip -t /var/cache/pkgs/$p && echo $p >> /site/installed; \\
    done
"""
PACKAGES = [f"pkg{i}" for i in range(7)]
DOCKER = os.environ.get("DOCKER", "/usr/bin/docker")  # Debian's docker.io: BuildKit built in


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


def bench_cache_mount(build: list[str], prune: list[str], context: Path, env: dict,
                      rounds: int) -> tuple[float, float]:
    """(ms with an empty cache, ms after the requirements changed) for the install step."""
    (context / "Dockerfile").write_text(INSTALL)
    cold, warm = [], []
    for _ in range(rounds):
        subprocess.run(prune, env=env, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        (context / "requirements.txt").write_text("\n".join(PACKAGES[:-1]) + "\n")
        cold.append(timed(build + [str(context)], context, env))
        (context / "requirements.txt").write_text("\n".join(PACKAGES) + "\n")
        warm.append(timed(build + [str(context)], context, env))
    return median_ms(cold), median_ms(warm)


def docker_buildkit() -> bool:
    return os.path.exists(DOCKER) and subprocess.run(
        [DOCKER, "info"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0


def bench_install(berth: list[str], env: dict, work: Path, rounds: int) -> dict:
    context = work / "install"
    context.mkdir()
    cold, warm = bench_cache_mount(berth + ["image", "build", "-t", "bench/install"],
                                   berth + ["builder", "prune", "-f"], context, env, rounds)
    out = {"install_cold_ms": cold, "install_changed_ms": warm}
    if docker_buildkit():
        from up_down import import_docker_image

        docker_env = dict(os.environ, DOCKER_BUILDKIT="1", PATH=f"{Path(DOCKER).parent}:"
                                                              f"{os.environ['PATH']}")
        import_docker_image(work)
        cold, warm = bench_cache_mount([DOCKER, "build", "-t", "bench/install"],
                                       [DOCKER, "builder", "prune", "-af"], context, docker_env,
                                       rounds)
        out.update(docker_install_cold_ms=cold, docker_install_changed_ms=warm)
    return out


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
        results.update(bench_install(berth, env, work, args.rounds))
        if shutil.which("docker-registry"):
            results.update(bench_pull(berth, env, work, args.rounds))
    print_rows([("build, 10 steps, no cache (ms)", results["build_cold_ms"], None),
                ("rebuild, 10 steps, all cached (ms)", results["build_cached_ms"], None),
                ("install step, empty cache mount (ms)", results["install_cold_ms"],
                 results.get("docker_install_cold_ms")),
                ("install step, requirements changed (ms)", results["install_changed_ms"],
                 results.get("docker_install_changed_ms"))],
               other="docker" if "docker_install_cold_ms" in results else "")
    print(f"(the cache mount makes the changed build take "
          f"{results['install_changed_ms'] / results['install_cold_ms']:.0%} of the first"
          + (f"; docker: {results['docker_install_changed_ms'] / results['docker_install_cold_ms']:.0%})"
             if "docker_install_cold_ms" in results else ")"))
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
