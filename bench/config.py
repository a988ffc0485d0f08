"""`berth config` start to finish (load, interpolate, merge, validate, print): on the
largest compose file of ../shared/corpus and on a generated 200-service file, with and
without berth's project cache; median of 10.

    python3 bench/config.py [--runs N] [--json FILE]
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

from up_down import REPO, berth_cmd, median_ms, print_rows, timed

sys.path.insert(0, str(REPO))


def largest_corpus_file() -> Path | None:
    from tests.helpers import _shared

    shared = _shared()
    corpus = shared / "corpus" if shared else None
    if corpus is None or not corpus.is_dir():
        return None
    files = [p for p in corpus.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file()
             and "services" in p.read_text(errors="replace")]
    return max(files, key=lambda p: p.stat().st_size, default=None)


def generated(directory: Path, services: int = 200) -> Path:
    """A file with the keys real ones use: build, ports, volumes, networks, depends_on,
    healthchecks, environment with interpolation."""
    lines = ["name: generated", "x-common: &common", "  restart: unless-stopped",
             "  environment: {LOG_LEVEL: \"${LOG_LEVEL:-info}\"}", "services:"]
    for i in range(services):
        lines += [f"  s{i}:", "    <<: *common", f"    image: registry.lan/app/s{i}:${{TAG:-1}}",
                  f"    ports: [\"{20000 + i}:80\"]", f"    volumes: [\"data{i % 10}:/data\", \"./conf:/conf:ro\"]",
                  "    networks: [front, back]",
                  "    healthcheck: {test: [CMD, \"true\"], interval: 5s, retries: 3}"]
        if i:
            lines += [f"    depends_on: {{s{(i - 1) // 3}: {{condition: service_started}}}}"]
    lines += ["networks: {front: {}, back: {internal: true}}", "volumes:"]
    lines += [f"  data{i}: {{}}" for i in range(10)]
    path = directory / "compose.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def bench(path: Path, runs: int, work: Path) -> dict:
    berth = berth_cmd()
    env = dict(os.environ, HOME=str(work / "home"), BERTH_ROOT=str(work / "root"))
    cmd = berth + ["-f", str(path), "config"]
    subprocess.run(cmd, cwd=path.parent, env=env, check=True, stdout=subprocess.DEVNULL)
    cached = [timed(cmd, path.parent, env) for _ in range(runs)]
    cold = [timed(cmd, path.parent, dict(env, BERTH_NO_CACHE="1")) for _ in range(runs)]
    return {"cached_ms": median_ms(cached), "uncached_ms": median_ms(cold)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--json")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory(prefix="berth-bench-") as tmp:
        work = Path(tmp)
        largest = largest_corpus_file()
        if largest:
            copy = work / "corpus"
            shutil.copytree(largest.parent, copy)  # its env files and build contexts too
            results["corpus"] = {"file": str(largest),
                                 **bench(copy / largest.name, args.runs, work)}
        gen = work / "generated"
        gen.mkdir()
        results["generated"] = bench(generated(gen), args.runs, work)
    rows = []
    for key, label in (("corpus", "largest corpus file"), ("generated", "200 services")):
        if key in results:
            rows.append((f"config, {label} (ms)", results[key]["cached_ms"], None))
            rows.append((f"config, {label}, no cache (ms)", results[key]["uncached_ms"], None))
    print_rows(rows, other="")
    if "corpus" in results:
        print(f"(largest corpus file: {results['corpus']['file']})")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
