"""`berth kube convert` of 200 services: the conversion (objects, report and berth's
checks) and the writing of the Kustomize base, in process, median of 10; then the whole
command (load, convert, write) as a user runs it. The goal: the conversion in under a
second.

    python3 bench/kube.py [--runs N] [--services N] [--json FILE]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from up_down import REPO, berth_cmd, median_ms, timed

sys.path.insert(0, str(REPO))


def generated(directory: Path, services: int) -> Path:
    """A project with what converts to the most objects: published ports, named volumes,
    a bound file, env files, configs and secrets, healthchecks and every depends_on
    condition, replicas, one-shot services, two networks (one internal)."""
    (directory / "app.env").write_text("LOG_LEVEL=info\nFEATURES=a,b\n")
    (directory / "nginx.conf").write_text("events {}\n")
    (directory / "password.txt").write_text("s3cret\n")
    lines = ["name: generated", "services:"]
    for i in range(services):
        lines += [f"  s{i}:", f"    image: registry.lan/app/s{i}:1",
                  f"    ports: [\"{20000 + i}:80\"]", "    expose: [\"9000\"]",
                  f"    volumes: [\"data{i % 10}:/data\", \"./nginx.conf:/etc/nginx.conf:ro\"]",
                  "    env_file: [app.env]", f"    environment: {{INDEX: \"{i}\"}}",
                  "    networks: [front, back]", "    configs: [settings]", "    secrets: [password]",
                  "    healthcheck: {test: [CMD, \"true\"], interval: 5s, retries: 3}",
                  "    deploy: {resources: {limits: {cpus: \"0.5\", memory: 256M}}}"]
        if i % 20 == 19:
            lines += ["    restart: \"no\""]
        elif i % 7 == 3:
            lines += ["    scale: 3"]
        if i:
            parent = (i - 1) // 3
            condition = ("service_completed_successfully" if parent % 20 == 19 else
                         "service_healthy" if i % 2 else "service_started")
            lines += [f"    depends_on: {{s{parent}: {{condition: {condition}}}}}"]
    lines += ["networks: {front: {}, back: {internal: true}}",
              "configs: {settings: {content: \"port = 80\"}}",
              "secrets: {password: {file: ./password.txt}}", "volumes:"]
    lines += [f"  data{i}: {{}}" for i in range(10)]
    path = directory / "compose.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def in_process(path: Path, runs: int, work: Path) -> dict:
    from compose.kube import kustomize
    from compose.kube.convert import convert
    from compose.kube.model import Source
    from compose.kube.source import read_host, written_services
    from compose.load import LoadOptions, load_project

    opts = LoadOptions(cwd=str(path.parent), files=(str(path),), environ={})
    project = load_project(opts)
    source = Source(project, written_services(opts),
                    {name: svc.image or "" for name, svc in project.services.items()}, read_host)
    convert_s, write_s = [], []
    for _ in range(runs):
        start = time.perf_counter()
        conversion = convert(source)
        convert_s.append(time.perf_counter() - start)
        start = time.perf_counter()
        kustomize.write(work / "base", conversion, None)
        write_s.append(time.perf_counter() - start)
    return {"objects": len(conversion.manifests), "convert_ms": statistics.median(convert_s) * 1e3,
            "write_ms": statistics.median(write_s) * 1e3}


def command(path: Path, runs: int, work: Path) -> float:
    env = dict(os.environ, HOME=str(work / "home"), BERTH_ROOT=str(work / "root"))
    cmd = berth_cmd() + ["-f", str(path), "kube", "convert", "-o", str(work / "cli")]
    subprocess.run(cmd, cwd=path.parent, env=env, check=True, stdout=subprocess.DEVNULL)
    return median_ms([timed(cmd, path.parent, env) for _ in range(runs)])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--services", type=int, default=200)
    parser.add_argument("--json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="berth-bench-kube-") as tmp:
        work = Path(tmp)
        (work / "project").mkdir()
        path = generated(work / "project", args.services)
        results = in_process(path, args.runs, work)
        results["command_ms"] = command(path, max(1, args.runs // 2), work)
    convert_ms = results["convert_ms"]
    print(f"{args.services} services -> {results['objects']} objects")
    print(f"  convert            {convert_ms:8.1f} ms  (goal: under 1 s: "
          f"{'met' if convert_ms < 1000 else 'MISSED'})")
    print(f"  write the base     {results['write_ms']:8.1f} ms  (a file per object)")
    print(f"  berth kube convert {results['command_ms']:8.1f} ms  (load, convert, write)")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
