"""Paths and helpers shared by the tests."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _shared() -> Path:
    """The reference data (official schema, compose corpus): $BERTH_SHARED, else a
    `shared` directory beside the repository or one of its parents, else /work/shared."""
    candidates = [Path(os.environ["BERTH_SHARED"])] if os.environ.get("BERTH_SHARED") else []
    candidates += [parent / "shared" for parent in REPO.parents] + [Path("/work/shared")]
    return next((c for c in candidates if (c / "corpus").is_dir()), candidates[0])


SHARED = _shared()
CORPUS = SHARED / "corpus"
OFFICIAL_SCHEMA = SHARED / "reference" / "compose-spec.json"


def require_shared() -> None:
    """Skip the calling test module when the reference data is not on this machine."""
    import pytest

    if not CORPUS.is_dir() or not OFFICIAL_SCHEMA.is_file():
        pytest.skip(f"reference data not found (looked for {SHARED}; set BERTH_SHARED)",
                    allow_module_level=True)


def run_berth(*args: str, cwd: str | os.PathLike | None = None, env: dict | None = None,
              input: str | None = None, check: bool = False, timeout: float = 120
              ) -> subprocess.CompletedProcess:
    """Run the real `berth` command line in a subprocess."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    full_env["PYTHONPATH"] = str(REPO) + os.pathsep + full_env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, "-m", "compose", *args], cwd=cwd, env=full_env,
                          input=input, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"berth {' '.join(args)} failed ({proc.returncode}):\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc


def remove_all(env: dict) -> None:
    """Remove the containers and networks of the BERTH_ROOT in `env` (a test's own); a
    network that will not go (within a few seconds) fails the test: a bridge and its
    nftables table would outlive the test's directory."""
    ids = run_berth("container", "ls", "-aq", env=env).stdout.split()
    if ids:
        run_berth("container", "rm", "-f", *ids, env=env, check=True)
    def names() -> list[str]:
        return [line.split()[1]
                for line in run_berth("network", "ls", env=env).stdout.splitlines()[1:]]

    for name in names():
        wait_for(lambda: run_berth("network", "rm", name, env=env).returncode == 0
                 or name not in names(), timeout=5, interval=0.2)


BUSYBOX = "/bin/busybox"


def busybox_rootfs(path: Path) -> Path:
    """A minimal rootfs: the host's static busybox, its applets, users and groups."""
    import shutil

    for sub in ("bin", "etc", "tmp", "root", "home/app", "var/www", "proc", "sys", "dev"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    os.chmod(path / "tmp", 0o1777)
    shutil.copy2(BUSYBOX, path / "bin" / "busybox")
    applets = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True,
                             check=True).stdout.split()
    for applet in applets:
        link = path / "bin" / applet
        if applet != "busybox" and not link.exists():
            link.symlink_to("busybox")
    (path / "etc" / "passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\n"
        "app:x:1000:1000:app:/home/app:/bin/sh\n"
        "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
    (path / "etc" / "group").write_text(
        "root:x:0:\napp:x:1000:\nstaff:x:50:app\nnogroup:x:65534:\n")
    os.chown(path / "home" / "app", 1000, 1000)
    return path


def mounts_under(path: Path) -> list[str]:
    """Mount points at or below `path`, from this process's mount table."""
    prefix = str(path)
    with open("/proc/self/mountinfo") as handle:
        points = [line.split()[4] for line in handle]
    return [p for p in points if p == prefix or p.startswith(prefix + "/")]


def cgroup_dirs(name_part: str) -> list[str]:
    """cgroup directories whose name contains `name_part`, in every hierarchy."""
    found = []
    for root, dirs, _ in os.walk("/sys/fs/cgroup"):
        for d in dirs:
            if name_part in d:
                found.append(os.path.join(root, d))
        if root.count("/") >= 4:
            dirs[:] = []
    return found


def cgroup2_mount() -> str | None:
    """Where the cgroup2 hierarchy is mounted (this machine: empty, beside cgroup v1)."""
    with open("/proc/self/mounts") as handle:
        for line in handle:
            fields = line.split()
            if len(fields) > 2 and fields[2] == "cgroup2":
                return fields[1]
    return None


def remove_cgroup(path: str) -> None:
    """rmdir a test's cgroup once the child that ran in it has left (EBUSY until then)."""
    import time

    for _ in range(500):
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError:  # the child still leaving
            time.sleep(0.01)


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.02):
    """Poll until predicate() is truthy; return its value or fail."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {predicate}")
        time.sleep(interval)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_registry(directory: Path, auth: bool = False) -> tuple[subprocess.Popen, str]:
    """Debian's docker-registry on 127.0.0.1 (with htpasswd auth: user alice, password
    s3cret), storing under `directory`; the process and its address, once it answers."""
    port = free_port()
    config = {"version": 0.1, "log": {"level": "error"},
              "storage": {"filesystem": {"rootdirectory": str(directory / "registry-data")},
                          "delete": {"enabled": True}},
              "http": {"addr": f"127.0.0.1:{port}"}}
    if auth:
        htpasswd = directory / "htpasswd"
        subprocess.run(["htpasswd", "-Bbc", str(htpasswd), "alice", "s3cret"], check=True,
                       capture_output=True)
        config["auth"] = {"htpasswd": {"realm": "berth-test", "path": str(htpasswd)}}
    (directory / "registry.json").write_text(json.dumps(config))  # YAML is a superset of JSON
    proc = subprocess.Popen(["docker-registry", "serve", str(directory / "registry.json")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1)
            break
        except urllib.error.HTTPError:
            break  # 401 with auth: it is up
        except OSError:
            time.sleep(0.05)
    return proc, f"127.0.0.1:{port}"


def in_netns(path: str | os.PathLike, fn):
    """fn() in a forked child that joined the network namespace at `path`; its result."""
    from runtime.forked import in_child
    from runtime.syscalls import CLONE_NEWNET, SYSCALLS

    def inside():
        SYSCALLS.setns(os.open(path, os.O_RDONLY | os.O_CLOEXEC), CLONE_NEWNET)
        return fn()

    return in_child(inside)


def host_address() -> str | None:
    """This host's own IPv4 address (the one its default route leaves from), or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.254", 9))  # nothing is sent
            return probe.getsockname()[0]
        except OSError:
            return None


def python_mounts():
    """The host's Python, bound read-only into a container, for probes busybox can't be
    (UDP servers, syscalls it has no applet for)."""
    from runtime.spec import Mount

    prefix = os.path.dirname(os.path.dirname(os.path.realpath(sys.executable)))
    return [Mount(type="bind", source=p, target=p, read_only=True)
            for p in ("/usr", "/lib", "/lib64", prefix) if os.path.exists(p)]
