"""`berth image build` with docker build's flags, `berth build` with compose's build keys,
and the build cache's commands, through the real command line."""
import hashlib
import http.server
import json
import os
import shutil
import socket
import subprocess
import tarfile
import threading

import pytest

from tests.helpers import free_port, run_berth, wait_for

pytestmark = pytest.mark.privileged


@pytest.fixture
def env(cli_env):
    return cli_env


def context(tmp_path, dockerfile: str, **files: str):
    directory = tmp_path / "ctx"
    directory.mkdir(exist_ok=True)
    (directory / "Dockerfile").write_text(dockerfile)
    for name, text in files.items():
        (directory / name).write_text(text)
    return directory


def cat(env, image: str, path: str) -> str:
    return run_berth("container", "run", "--rm", image, "cat", path, env=env, check=True).stdout


def test_a_cache_mount_outlives_builds_until_builder_prune(env, tmp_path):
    ctx = context(tmp_path, "FROM busybox\nARG V\n"
                            "RUN --mount=type=cache,id=pkgs,target=/cache "
                            "echo $V >> /cache/log && cat /cache/log > /seen\n")
    for value in ("1", "2"):
        run_berth("image", "build", "-t", "app", "--build-arg", f"V={value}", str(ctx), env=env,
                  check=True)
    assert cat(env, "app", "/seen") == "1\n2\n"  # the second build saw the first one's cache
    du = run_berth("builder", "du", env=env, check=True).stdout
    assert du.splitlines()[1].split()[0] == "pkgs"
    df = run_berth("system", "df", env=env, check=True).stdout
    build_cache = next(line for line in df.splitlines() if line.startswith("Build Cache"))
    assert int(build_cache.split()[2]) >= 3  # steps remembered and the cache mount
    pruned = run_berth("builder", "prune", "-f", env=env, check=True).stdout
    assert pruned.startswith("Total reclaimed space:")
    assert "pkgs" not in run_berth("builder", "du", env=env, check=True).stdout
    run_berth("image", "build", "-t", "app", "--build-arg", "V=3", str(ctx), env=env, check=True)
    assert cat(env, "app", "/seen") == "3\n"


def test_secrets_reach_the_step_and_never_the_image(env, tmp_path):
    (tmp_path / "token").write_text("file-secret")
    ctx = context(tmp_path, "FROM busybox\n"
                            "RUN --mount=type=secret,id=tok --mount=type=secret,id=fromenv "
                            "cat /run/secrets/tok /run/secrets/fromenv | sha256sum > /digest\n"
                            "RUN --mount=type=secret,id=tok,env=TOK echo ${#TOK} > /length\n")
    out = run_berth("image", "build", "-t", "sec", "--secret", f"id=tok,src={tmp_path / 'token'}",
                    "--secret", "id=fromenv,env=MY_SECRET", "--progress", "plain", str(ctx),
                    env={**env, "MY_SECRET": "env-secret"}, check=True)
    want = hashlib.sha256(b"file-secretenv-secret").hexdigest()
    assert cat(env, "sec", "/digest").split()[0] == want
    assert cat(env, "sec", "/length") == "11\n"  # as an environment variable too
    archive = tmp_path / "sec.tar"
    run_berth("image", "save", "-o", str(archive), "sec", env=env, check=True)
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            if member.isfile() and member.name.endswith(".tar"):
                with tarfile.open(fileobj=tar.extractfile(member)) as layer:
                    for item in layer.getmembers():
                        assert not item.name.startswith("run/secrets/")
                        if item.isfile():
                            data = layer.extractfile(item).read()
                            assert b"file-secret" not in data and b"env-secret" not in data
    assert "file-secret" not in out.stdout + out.stderr


def test_iidfile_and_outputs(env, tmp_path):
    ctx = context(tmp_path, "FROM busybox AS build\nRUN mkdir /out && echo made > /out/a\n"
                            "FROM scratch\nCOPY --from=build /out /\n")
    iid = tmp_path / "iid"
    image_id = run_berth("image", "build", "-t", "res", "--iidfile", str(iid), str(ctx), env=env,
                         check=True).stdout.strip()
    assert iid.read_text() == image_id and image_id.startswith("sha256:")
    local = tmp_path / "local"
    run_berth("image", "build", "-o", f"type=local,dest={local}", str(ctx), env=env, check=True)
    assert (local / "a").read_text() == "made\n"
    run_berth("image", "build", "-o", f"type=tar,dest={tmp_path / 'out.tar'}", str(ctx), env=env,
              check=True)
    with tarfile.open(tmp_path / "out.tar") as tar:
        assert tar.extractfile("a").read() == b"made\n"


def test_bad_builds_say_one_thing_and_leave_nothing(env, tmp_path):
    ctx = context(tmp_path, "FROM busybox\nRUN --mount=type=cache,target=/c,colour=blue true\n")
    bad = run_berth("image", "build", "-t", "bad", str(ctx), env=env)
    assert bad.returncode != 0 and bad.stderr.count("\n") == 1, bad.stderr
    assert bad.stderr.startswith("berth: ") and "Dockerfile:2: RUN: --mount: unexpected key " \
        "'colour' for a cache mount" in bad.stderr
    steps = run_berth("builder", "du", env=env, check=True).stdout
    ctx = context(tmp_path, "FROM busybox\nRUN echo first > /first\n"
                            "RUN --mount=type=secret,id=npmrc,required=true true\n")
    missing = run_berth("image", "build", "-t", "bad", str(ctx), env=env)
    assert missing.returncode != 0 and "secret npmrc is required" in missing.stderr
    assert "bad" not in run_berth("image", "ls", env=env, check=True).stdout
    after = run_berth("builder", "du", env=env, check=True).stdout
    # the step that ran is remembered; the one that failed is not
    assert int(after.split("(")[1].split()[0]) == int(steps.split("(")[1].split()[0]) + 1
    ctx = context(tmp_path, "FROM busybox\nRUN true\n")
    foreign = run_berth("image", "build", "--platform", "linux/s390x", str(ctx), env=env)
    if os.path.exists("/proc/sys/fs/binfmt_misc/qemu-s390x"):
        pytest.skip("this machine runs s390x programs")
    assert foreign.returncode != 0 and foreign.stderr.count("\n") == 1
    assert "runs linux/s390x programs, which this machine" in foreign.stderr
    wrong = run_berth("image", "build", "--progress", "fancy", str(ctx), env=env)
    assert wrong.returncode != 0 and "--progress" in wrong.stderr


@pytest.fixture
def http_file(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    (served / "tool.txt").write_text("downloaded\n")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(served), **kwargs)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/tool.txt"
    server.shutdown()
    server.server_close()


def test_add_checksum(env, tmp_path, http_file):
    digest = hashlib.sha256(b"downloaded\n").hexdigest()
    ctx = context(tmp_path, f"FROM busybox\nADD --checksum=sha256:{digest} {http_file} /tool.txt\n")
    run_berth("image", "build", "-t", "dl", str(ctx), env=env, check=True)
    assert cat(env, "dl", "/tool.txt") == "downloaded\n"
    ctx = context(tmp_path, f"FROM busybox\nADD --checksum=sha256:{'0' * 64} {http_file} /t\n")
    wrong = run_berth("image", "build", str(ctx), env=env)
    assert wrong.returncode != 0 and "checksum mismatch" in wrong.stderr


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_add_a_git_repository(env, tmp_path):
    repo = tmp_path / "git" / "repo.git"
    (repo / "sub").mkdir(parents=True)
    (repo / "sub" / "file.txt").write_text("from git\n")
    git = ["git", "-C", str(repo), "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    subprocess.run(git + ["add", "."], check=True)
    subprocess.run(git + ["commit", "-qm", "one"], check=True)
    port = free_port()
    daemon = subprocess.Popen(["git", "daemon", "--reuseaddr", "--export-all", "--listen=127.0.0.1",
                               f"--port={port}", f"--base-path={tmp_path / 'git'}",
                               str(tmp_path / "git")], stderr=subprocess.DEVNULL)
    try:
        def listening() -> bool:
            try:
                socket.create_connection(("127.0.0.1", port)).close()
                return True
            except OSError:
                return False

        wait_for(listening, timeout=10)
        ctx = context(tmp_path, f"FROM busybox\nADD git://127.0.0.1:{port}/repo.git#main:sub /src/\n")
        run_berth("image", "build", "-t", "fromgit", str(ctx), env=env, check=True)
        assert cat(env, "fromgit", "/src/file.txt") == "from git\n"
        listing = run_berth("container", "run", "--rm", "fromgit", "ls", "-a", "/src", env=env,
                            check=True).stdout
        assert ".git" not in listing.split()
    finally:
        daemon.terminate()
        daemon.wait()


def test_compose_build_keys(env, tmp_path):
    project = tmp_path / "project"
    (project / "app").mkdir(parents=True)
    (project / "extra").mkdir()
    (project / "extra" / "note.txt").write_text("from a named context\n")
    (project / "token.txt").write_text("compose-secret")
    (project / "app" / "Dockerfile").write_text(
        "FROM busybox AS unused\nRUN exit 1\n"
        "FROM busybox AS final\n"
        "COPY --from=notes note.txt /note.txt\n"
        "RUN --mount=type=secret,id=token cat /run/secrets/token | sha256sum > /digest\n"
        "RUN grep -q 'registry.test' /etc/hosts && echo yes > /hosts\n"
        "RUN --security=insecure ls /dev | wc -l > /devices\n")
    (project / "compose.yaml").write_text(
        "services:\n"
        "  app:\n"
        "    image: built/app\n"
        "    build:\n"
        "      context: app\n"
        "      target: final\n"
        "      additional_contexts:\n"
        "        notes: ./extra\n"
        "      secrets: [token]\n"
        "      extra_hosts: ['registry.test:10.1.2.3']\n"
        "      privileged: true\n"
        "      labels: {built.by: berth}\n"
        "secrets:\n"
        "  token:\n"
        "    file: ./token.txt\n")
    run_berth("build", cwd=project, env=env, check=True)
    assert cat(env, "built/app", "/note.txt") == "from a named context\n"
    assert cat(env, "built/app", "/digest").split()[0] == \
        hashlib.sha256(b"compose-secret").hexdigest()
    assert cat(env, "built/app", "/hosts") == "yes\n"
    assert int(cat(env, "built/app", "/devices")) > 10  # privileged: the host's devices
    info = json.loads(run_berth("image", "inspect", "built/app", env=env, check=True).stdout)
    assert info[0]["Config"]["Labels"]["built.by"] == "berth"
