"""The compose keys, commands and flags of 2025-2026 on real containers, through the CLI:
pre_start hooks, image mounts, secrets owned and moded as asked, deploy's restart
policy, start --wait, restart of a changed service, --dry-run, --progress json, the
listings' JSON, cp --archive, export and commit, publish to a registry read back with
skopeo, and refreshing pull policies with the last pull recorded."""
import json
import os
import shutil
import subprocess
import tarfile
import time

import pytest

from runtime.containers import Containers
from tests.helpers import start_registry, wait_for

pytestmark = pytest.mark.privileged


def test_pre_start_hooks_run_before_the_service_and_a_failure_is_kept_for_logs(stack):
    stack.write("""
        services:
          app:
            image: busybox
            command: sh -c 'cat /data/seeded; sleep 60'
            init: true
            volumes: [data:/data]
            pre_start:
              - command: sh -c 'echo "seeded by $$STEP" > /data/seeded; echo hook ran'
                environment: {STEP: first}
        volumes: {data: {}}
    """)
    out = stack.berth("up", "-d", "--progress", "plain")
    assert "Hook app pre_start  Done" in out.stderr
    wait_for(lambda: "seeded by first" in stack.berth("logs", "app").stdout)
    assert set(stack.ps()) == {"proj-app-1"}  # the hook's container is gone

    stack.write("""
        services:
          app:
            image: busybox
            command: sleep 60
            pre_start: [{command: sh -c 'echo migration failed >&2; exit 4'}]
    """)
    out = stack.berth("up", "-d", check=False)
    assert out.returncode == 1
    assert ("service 'app': pre_start[0] exited with code 4; its container "
            "proj-app-pre_start-0 is kept for `berth logs app` until `berth down`") in out.stderr
    assert "| migration failed" in out.stderr
    containers = stack.ps()
    assert containers["proj-app-pre_start-0"]["State"] == "exited"
    assert containers["proj-app-1"]["State"] == "created"  # never started
    assert "migration failed" in stack.berth("logs", "app").stdout
    stack.berth("down")
    assert stack.ps() == {}


def test_image_mounts_are_the_image_s_files_read_only(stack):
    (stack.dir / "extra").mkdir()
    (stack.dir / "extra" / "note.txt").write_text("from a second layer\n")
    (stack.dir / "extra" / "Dockerfile").write_text("FROM busybox\nCOPY note.txt /opt/note.txt\n")
    stack.write("""
        services:
          tools: {build: ./extra, image: layered:1, command: "true"}
          app:
            image: busybox
            command: >-
              sh -c 'cat /layered/opt/note.txt; ls /bin-only/busybox;
              touch /layered/x 2>&1 || echo read-only'
            volumes:
              - {type: image, source: "layered:1", target: /layered}
              - {type: image, source: busybox, target: /bin-only, image: {subpath: bin}}
            depends_on: {tools: {condition: service_completed_successfully}}
    """)
    run = stack.root / "run" / "compose" / "images"
    try:
        stack.berth("up", "-d", "--wait", "--wait-timeout", "60")
        logs = wait_for(lambda: (out := stack.berth("logs", "app").stdout) and
                        "read-only" in out and out)
        assert "from a second layer" in logs and "/bin-only/busybox" in logs
        assert any(os.path.ismount(p) for p in run.iterdir())  # two layers, one overlay
    finally:
        stack.berth("down", check=False)
    assert not any(os.path.ismount(p) for p in run.iterdir())  # gone with its last user


def test_secrets_and_configs_are_owned_and_moded_as_asked(stack):
    (stack.dir / "key.pem").write_text("KEY")
    os.chmod(stack.dir / "key.pem", 0o644)
    stack.write("""
        services:
          app:
            image: busybox
            user: "1000"
            command: >-
              sh -c 'stat -c "%u %g %a" /run/secrets/key /etc/app.conf;
              cat /run/secrets/key; echo; cat /etc/app.conf'
            secrets: [{source: key, uid: "1000", gid: "1001", mode: 0400}]
            configs: [{source: conf, target: /etc/app.conf, mode: 0440, gid: "1000"}]
        secrets: {key: {file: ./key.pem}}
        configs: {conf: {content: "debug: true"}}
    """)
    stack.berth("up", "-d")
    logs = wait_for(lambda: (out := stack.berth("logs", "--no-log-prefix", "app").stdout)
                    and "debug: true" in out and out)
    assert logs.splitlines() == ["1000 1001 400", "0 1000 440", "KEY", "debug: true"]
    stack.berth("down")
    assert not list((stack.root / "run" / "compose" / "proj").glob("secrets/*"))


def test_deploy_restart_policy_gives_up_after_max_attempts(stack):
    stack.write("""
        services:
          flaky:
            image: busybox
            command: sh -c 'echo attempt >> /data/runs; exit 3'
            volumes: [data:/data]
            deploy: {restart_policy: {condition: on-failure, max_attempts: 2, delay: 0.2s}}
          reader:
            image: busybox
            command: sleep 60
            volumes: [data:/data]
        volumes: {data: {}}
    """)
    stack.berth("up", "-d")
    wait_for(lambda: stack.ps()["proj-flaky-1"]["State"] == "exited", timeout=20)
    time.sleep(0.5)  # no third restart comes
    runs = stack.berth("exec", "-T", "reader", "cat", "/data/runs").stdout.split()
    assert runs == ["attempt"] * 3 and stack.ps()["proj-flaky-1"]["ExitCode"] == 3


def test_start_wait_restart_warning_dry_run_and_progress_json(stack):
    text = """
        services:
          job: {image: busybox, command: "true"}
          web:
            image: busybox
            command: sleep 60
            init: true
            environment: {VERSION: "1"}
            healthcheck: {test: ["CMD", "true"], interval: 1s, start_interval: 0.2s}
    """
    stack.write(text)
    out = stack.berth("--dry-run", "up", "-d")
    assert "DRY-RUN MODE - Container proj-web-1  Started" in out.stderr
    assert stack.ps() == {} and not Containers(stack.paths).volumes.list()
    out = stack.berth("--progress", "json", "up", "-d")
    events = [json.loads(line) for line in out.stderr.splitlines()]
    assert {"id": "Container proj-web-1", "status": "Done", "text": "Started"} in events
    stack.berth("stop")
    out = stack.berth("start", "--wait", "--wait-timeout", "30")
    assert out.returncode == 0 and stack.ps()["proj-web-1"]["Health"] == "healthy"
    stack.write(text.replace('VERSION: "1"', 'VERSION: "2"'))
    out = stack.berth("restart", "web")
    assert ("WARN container proj-web-1 keeps the configuration it was created with: service "
            "'web' changed since. `restart` does not apply the change; `berth up -d web` does"
            ) in out.stderr
    assert "VERSION=1" in stack.berth("exec", "-T", "web", "env").stdout


def test_listings_as_json_lines_and_filters(stack):
    stack.write("""
        services:
          web: {image: busybox, command: sleep 60, init: true, volumes: [data:/data]}
        volumes: {data: {}}
    """)
    stack.berth("up", "-d")
    rows = [json.loads(line) for line in stack.berth("ls", "--format", "json").stdout.splitlines()]
    assert [r["Name"] for r in rows] == ["proj"]
    assert stack.berth("ls", "--filter", "name=pro", "-q").stdout.split() == ["proj"]
    assert stack.berth("ls", "--filter", "name=nope", "-q").stdout == ""
    [image] = map(json.loads, stack.berth("images", "--format", "json").stdout.splitlines())
    assert (image["ContainerName"], image["Repository"]) == ("proj-web-1", "busybox")
    [volume] = map(json.loads, stack.berth("volumes", "--format", "json").stdout.splitlines())
    assert volume["Name"] == "proj_data"
    [stat] = map(json.loads, stack.berth("stats", "--no-stream", "--no-trunc", "--format",
                                         "json").stdout.splitlines())
    assert stat["Name"] == "proj-web-1" and len(stat["ID"]) == 64 and int(stat["PIDs"]) >= 1
    stack.berth("stop")
    assert stack.berth("stats", "--no-stream", "--format", "{{.Name}}").stdout == ""
    assert stack.berth("stats", "--all", "--no-stream", "--format",
                       "{{.Name}} {{.CPUPerc}}").stdout == "proj-web-1 0.00%\n"
    now = f"{time.time():.3f}"  # "--until 1s" would race the stop that just returned
    since = stack.berth("events", "--json", "--since", "1h", "--until", now).stdout
    actions = [json.loads(line)["action"] for line in since.splitlines()]
    assert actions[:2] == ["create", "start"] and "die" in actions


def test_cp_archive_export_commit_and_run_env_from_file(stack, tmp_path):
    stack.write("""
        services:
          web: {image: busybox, command: sh -c 'echo changed > /etc/motd; sleep 60', init: true}
    """)
    stack.berth("up", "-d")
    wait_for(lambda: "changed" in stack.berth("exec", "-T", "web", "cat", "/etc/motd",
                                              check=False).stdout)
    src = tmp_path / "owned"
    src.mkdir()
    (src / "f").write_text("x")
    os.chown(src, 1234, 2345)
    os.chown(src / "f", 1234, 2345)
    stack.berth("cp", "--archive", str(src), "web:/tmp/")
    stack.berth("cp", str(src), "web:/tmp/plain")
    listing = stack.berth("exec", "-T", "web", "stat", "-c", "%n %u %g", "/tmp/owned",
                          "/tmp/owned/f", "/tmp/plain/f").stdout.split("\n")
    assert listing[:3] == ["/tmp/owned 1234 2345", "/tmp/owned/f 1234 2345", "/tmp/plain/f 0 0"]

    stack.berth("export", "web", "-o", str(tmp_path / "web.tar"))
    with tarfile.open(tmp_path / "web.tar") as tar:
        names = set(tar.getnames())
        assert tar.extractfile("etc/motd").read() == b"changed\n"
    assert {"bin/busybox", "tmp/owned/f"} <= names and not any(n.startswith("proc/") for n in names)

    image_id = stack.berth("commit", "-c", "ENV COMMITTED=yes", "-m", "snapshot", "web",
                           "snap:1").stdout.strip()
    assert Containers(stack.paths).images.get("snap:1").id == image_id
    (stack.dir / "run.env").write_text("FROM_FILE=1\nBOTH=file\n")
    stack.write("""
        services:
          web: {image: "snap:1", command: sh -c 'cat /etc/motd; env'}
    """)
    out = stack.berth("run", "--rm", "-T", "--quiet", "--env-from-file", "run.env",
                      "-e", "BOTH=flag", "web")
    assert out.stdout.startswith("changed\n")
    assert {"FROM_FILE=1", "BOTH=flag", "COMMITTED=yes"} <= set(out.stdout.splitlines())
    assert out.stderr == ""


@pytest.fixture
def registry(tmp_path):
    if not shutil.which("docker-registry"):
        pytest.skip("needs Debian's docker-registry")
    proc, address = start_registry(tmp_path)
    yield address
    proc.terminate()
    proc.wait()


def test_publish_reads_back_with_skopeo_and_refreshing_pulls(stack, registry):
    if not shutil.which("skopeo"):
        pytest.skip("needs skopeo")
    stack.berth("image", "tag", "busybox", f"{registry}/lib/box:1")
    stack.berth("push", f"{registry}/lib/box:1")
    stack.write(f"""
        services:
          app:
            image: {registry}/lib/box:1
            command: sleep 60
            pull_policy: daily
    """)
    out = stack.berth("publish", f"{registry}/apps/demo:v1", "--resolve-image-digests")
    digest = out.stdout.strip().split("@")[1]
    raw = subprocess.run(["skopeo", "inspect", "--tls-verify=false", "--raw",
                          f"docker://{registry}/apps/demo:v1"], capture_output=True, text=True,
                         check=True).stdout
    manifest = json.loads(raw)
    assert manifest["artifactType"] == "application/vnd.docker.compose.project"
    [layer] = manifest["layers"]
    assert layer["mediaType"] == "application/vnd.docker.compose.file+yaml"
    blob = subprocess.run(["skopeo", "inspect", "--tls-verify=false", "--raw",
                           f"docker://{registry}/apps/demo@{digest}"], capture_output=True,
                          check=True).stdout
    assert json.loads(blob) == manifest
    published = _fetch_blob(registry, "apps/demo", layer["digest"])
    assert f"image: {registry}/lib/box:1@sha256:" in published and "pull_policy: daily" in published

    # daily: a pull is recorded; an image pulled within the day is not pulled again
    record = stack.root / "compose" / "pulls.json"
    stack.berth("up", "-d")  # present, never pulled by berth: pulled now
    first = json.loads(record.read_text())[f"{registry}/lib/box:1"]
    stack.berth("up", "-d")
    assert json.loads(record.read_text())[f"{registry}/lib/box:1"] == first
    record.write_text(json.dumps({f"{registry}/lib/box:1": first - 2 * 86400}))
    out = stack.berth("up", "-d", "--progress", "plain")
    assert f"Image {registry}/lib/box:1  Pulled" in out.stderr
    assert json.loads(record.read_text())[f"{registry}/lib/box:1"] > first - 1


def _fetch_blob(registry: str, repo: str, digest: str) -> str:
    import urllib.request

    with urllib.request.urlopen(f"http://{registry}/v2/{repo}/blobs/{digest}") as resp:
        return resp.read().decode()
