"""Re-record what docker builds for each conformance case: `python3 -m
tests.conformance.record [GROUP/NAME...]` where `dockerd` runs (Debian's docker.io: its
20.10 CLI with DOCKER_BUILDKIT=1 builds with the daemon's BuildKit, offline). Cases
marked `by_hand` are left as they are: docker 20.10 cannot build them."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.helpers import busybox_rootfs

from .cases import BASE_CHANGES, BASE_REF, Case, expected, load_cases, write_expected
from .imagefiles import changes, read_archive

DOCKER = os.environ.get("DOCKER", "/usr/bin/docker")
TAG = "berth-conformance-case"


def docker(*args: str, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([DOCKER, *args], capture_output=True, text=True, check=check,
                          env={**os.environ, "DOCKER_BUILDKIT": "1", **(env or {})})


def version() -> str:
    return docker("version", "--format", "{{.Server.Version}}").stdout.strip()


def import_base(work: Path) -> dict:
    rootfs = busybox_rootfs(work / "rootfs")
    subprocess.run(["tar", "-C", str(rootfs), "--numeric-owner", "-cf", str(work / "base.tar"),
                    "."], check=True)
    docker("import", *[a for change in BASE_CHANGES for a in ("-c", change)],
           str(work / "base.tar"), BASE_REF)
    docker("save", "-o", str(work / "base-image.tar"), BASE_REF)
    return read_archive(str(work / "base-image.tar"))[1]


def record(case: Case, work: Path, base_files: dict) -> dict:
    context = case.write_context(work / "context", BASE_REF)
    command = ["build", "-t", TAG, "--progress", "plain"]
    for key, value in case.args.items():
        command += ["--build-arg", f"{key}={value}"]
    if case.target:
        command += ["--target", case.target]
    if case.platform:
        command += ["--platform", case.platform]
    for secret_id, value in case.secrets.items():
        (work / f"secret-{secret_id}").write_text(value)
        command += ["--secret", f"id={secret_id},src={work / f'secret-{secret_id}'}"]
    env: dict[str, str] = {}
    agent = None
    if case.ssh:
        socket = str(work / "agent.sock")
        agent = subprocess.Popen(["ssh-agent", "-D", "-a", socket], stdout=subprocess.DEVNULL)
        env["SSH_AUTH_SOCK"] = socket
        command += ["--ssh", "default"]
    docker("builder", "prune", "-af", check=False)
    try:
        done = docker(*command, str(context), env=env, check=False)
    finally:
        if agent:
            agent.terminate()
            agent.wait()
    recorded = f"docker {version()} (BuildKit)"
    if done.returncode != 0:
        if not case.fails:
            print(f"{case.id}: docker failed:\n{done.stderr[-2000:]}", file=sys.stderr)
        return {"fails": True, "recorded": recorded}
    docker("save", "-o", str(work / "image.tar"), TAG)
    config, files = read_archive(str(work / "image.tar"))
    docker("rmi", TAG, check=False)
    return {"config": config, "files": changes(base_files, files), "recorded": recorded}


def main(selected: list[str]) -> None:
    cases = [c for c in load_cases() if not selected or c.id in selected or c.group in selected]
    with tempfile.TemporaryDirectory() as tmp:
        base_files = import_base(Path(tmp))
        groups: dict[str, dict] = {}
        for case in cases:
            values = groups.setdefault(case.group, expected(case.group))
            if case.by_hand:
                if case.name not in values:
                    print(f"{case.id}: by hand ({case.by_hand}); no expectation yet",
                          file=sys.stderr)
                continue
            work = Path(tmp) / "case"
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir()
            values[case.name] = record(case, work, base_files)
            print(f"{case.id}: {'fails' if values[case.name].get('fails') else 'recorded'}")
        for group, values in groups.items():
            write_expected(group, values)


if __name__ == "__main__":
    main(sys.argv[1:])
