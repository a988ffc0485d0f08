"""berth up / down / ps / logs / exec / run ... on real containers, through the CLI."""
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap

import pytest

from runtime.containers import Containers
from runtime.network.api import Networks
from tests.helpers import REPO, free_port, run_berth, wait_for

pytestmark = pytest.mark.privileged


WEB = """
services:
  web:
    image: busybox
    command: sh -c 'echo hello from $${NAME} > /tmp/index.html; trap "exit 0" TERM; httpd -f -p 80 -h /tmp & wait'
    environment: {NAME: web}
    ports: ["127.0.0.1:{port}:80"]
    volumes: [data:/data]
  worker:
    image: busybox
    command: sh -c 'trap "exit 0" TERM; while true; do sleep 0.2; done'
    depends_on: [web]
volumes:
  data:
"""


def http(port):
    with socket.create_connection(("127.0.0.1", port), timeout=3) as conn:
        conn.sendall(b"GET / HTTP/1.0\r\n\r\n")
        data = b""
        while chunk := conn.recv(4096):
            data += chunk
    return data.decode()


def test_up_down_and_convergence(stack):
    port = free_port()
    stack.write(WEB.replace("{port}", str(port)))
    out = stack.berth("up", "-d")
    assert "Network proj_default" in out.stderr and "Container proj-web-1" in out.stderr
    containers = stack.ps()
    assert set(containers) == {"proj-web-1", "proj-worker-1"}
    assert all(c["State"] == "running" for c in containers.values())
    labels = containers["proj-web-1"]["Labels"]
    assert labels["com.docker.compose.project"] == "proj"
    assert labels["com.docker.compose.service"] == "web"
    assert labels["com.docker.compose.container-number"] == "1"
    assert http(port).endswith("hello from web\n")
    first_ids = {name: c["ID"] for name, c in containers.items()}

    stack.berth("up", "-d")  # nothing changed: nothing recreated
    assert {n: c["ID"] for n, c in stack.ps().items()} == first_ids

    stack.write(WEB.replace("{port}", str(port)).replace("NAME: web", "NAME: changed"))
    out = stack.berth("up", "-d")
    after = stack.ps()
    assert after["proj-web-1"]["ID"] != first_ids["proj-web-1"]  # recreated
    assert after["proj-worker-1"]["ID"] == first_ids["proj-worker-1"]  # untouched
    assert http(port).endswith("hello from changed\n")

    stack.berth("up", "-d", "--scale", "worker=3")
    assert {n for n in stack.ps() if "worker" in n} == {"proj-worker-1", "proj-worker-2", "proj-worker-3"}
    stack.berth("up", "-d", "--scale", "worker=1")
    assert {n for n in stack.ps() if "worker" in n} == {"proj-worker-1"}

    stack.berth("down")
    assert stack.ps() == {}
    assert Containers(stack.paths).volumes.exists("proj_data")  # volumes outlive down
    assert not Networks(stack.paths).list()
    stack.berth("down", "-v")
    assert not Containers(stack.paths).volumes.exists("proj_data")


def test_depends_on_conditions_and_failures(stack):
    stack.write("""
        services:
          db:
            image: busybox
            command: sh -c 'sleep 0.3; touch /tmp/ready; exec sleep 60'
            init: true
            healthcheck: {test: test -f /tmp/ready, interval: 100ms, retries: 30}
          migrate:
            image: busybox
            command: sh -c 'echo migrated'
            depends_on: {db: {condition: service_healthy}}
          app:
            image: busybox
            command: sleep 60
            init: true
            depends_on:
              migrate: {condition: service_completed_successfully}
              db: {condition: service_healthy}
    """)
    stack.berth("up", "-d")
    state = stack.ps()
    assert state["proj-db-1"]["Health"] == "healthy"
    assert state["proj-migrate-1"]["State"] == "exited" and state["proj-migrate-1"]["ExitCode"] == 0
    assert state["proj-app-1"]["State"] == "running"
    stack.berth("down", "-t", "1")

    stack.write("""
        services:
          db:
            image: busybox
            command: sh -c 'echo db is broken; exec sleep 60'
            init: true
            healthcheck: {test: "false", interval: 100ms, retries: 2}
          app:
            image: busybox
            command: sleep 60
            depends_on: {db: {condition: service_healthy}}
          optional:
            image: busybox
            command: sh -c 'exit 0'
            depends_on: {db: {condition: service_healthy, required: false}}
    """)
    out = stack.berth("up", "-d", check=False)
    assert out.returncode == 1
    assert "service 'app': dependency 'db' failed: container proj-db-1 is unhealthy" in out.stderr
    assert "| db is broken" in out.stderr  # the dependency's last log lines
    assert "Traceback" not in out.stderr
    assert "proj-optional-1" in stack.ps()  # required: false does not block


def test_one_shot_and_wait(stack):
    stack.write("""
        services:
          setup:
            image: busybox
            command: "true"
          app:
            image: busybox
            command: sleep 60
            init: true
            depends_on: {setup: {condition: service_completed_successfully}}
    """)
    out = stack.berth("up", "-d", "--wait", "--wait-timeout", "30")
    assert out.returncode == 0, out.stderr
    before = {name: c["ID"] for name, c in stack.ps().items()}
    assert stack.ps()["proj-setup-1"]["State"] == "exited"
    # again, unchanged: the one-shot runs again in its own container, nothing is recreated
    out = stack.berth("up", "-d", "--wait", "--wait-timeout", "30")
    assert out.returncode == 0, out.stderr
    assert {name: c["ID"] for name, c in stack.ps().items()} == before
    assert "Recreate" not in out.stderr


def test_attached_up_exit_codes_and_prefixes(stack):
    stack.write("""
        services:
          a:
            image: busybox
            command: sh -c 'echo line from a; sleep 0.3'
          b:
            image: busybox
            command: sh -c 'echo line from b; exit 3'
    """)
    out = stack.berth("up", "--no-color", check=False)
    assert out.returncode == 0
    assert "a-1  | line from a" in out.stdout and "b-1  | line from b" in out.stdout
    assert "proj-b-1 exited with code 3" in out.stdout
    out = stack.berth("up", "--exit-code-from", "b", "--no-color", check=False)
    assert out.returncode == 3


def test_ctrl_c_stops_gracefully(stack):
    stack.write("""
        services:
          svc:
            image: busybox
            command: sh -c 'trap "echo bye; exit 0" TERM; echo started; while true; do sleep 0.1; done'
    """)
    env = dict(os.environ, **stack.env, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-m", "compose", "up", "--no-color"], cwd=stack.dir,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # once it said "started", its trap is set
    wait_for(lambda: "started" in stack.berth("logs", "svc", check=False).stdout, timeout=20)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert "Gracefully stopping" in out
    assert "svc-1  | bye" in out
    assert stack.ps()["proj-svc-1"]["State"] == "exited"


def test_projects_are_separate(stack):
    stack.write("""
        services:
          web:
            image: busybox
            command: httpd -f -p 80
            init: true
    """)
    stack.berth("-p", "one", "up", "-d")
    stack.berth("-p", "two", "up", "-d")
    one = json.loads(stack.berth("-p", "one", "ps", "--format", "json").stdout)
    two = json.loads(stack.berth("-p", "two", "ps", "--format", "json").stdout)
    assert one["Name"] == "one-web-1" and two["Name"] == "two-web-1"
    nets = {n.name: n for n in Networks(stack.paths).list()}
    assert set(nets) == {"one_default", "two_default"}
    # project two cannot reach project one's container
    ip = Networks(stack.paths).endpoints(one["ID"]).attachments[0].ip
    out = stack.berth("-p", "two", "exec", "-T", "web", "sh", "-c",
                      f"nc -w 1 {ip} 80 </dev/null && echo open || echo closed; "
                      "nslookup web >/dev/null && echo own-name", check=False)
    assert out.stdout.split()[-2:] == ["closed", "own-name"]
    stack.berth("-p", "one", "down", "-t", "0")
    stack.berth("-p", "two", "down", "-t", "0")


def test_bad_input_leaves_nothing(stack):
    stack.write("""
        services:
          web:
            image: nosuch/image:1
    """)
    out = stack.berth("up", "-d", check=False)
    assert out.returncode == 1 and "service 'web': image nosuch/image:1 is not present" in out.stderr
    assert not Networks(stack.paths).list() and stack.ps() == {}
    stack.write("""
        services:
          web: {image: busybox, command: sleep 1, networks: [outside]}
        networks:
          outside: {external: true}
    """)
    out = stack.berth("up", "-d", check=False)
    assert out.returncode == 1 and "network outside declared as external" in out.stderr
    assert stack.ps() == {}
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    port = holder.getsockname()[1]
    try:
        stack.write(f"""
            services:
              web: {{image: busybox, command: sleep 1, ports: ["127.0.0.1:{port}:80"]}}
        """)
        out = stack.berth("up", "-d", check=False)
        assert out.returncode == 1 and f"127.0.0.1:{port}/tcp: already in use" in out.stderr
        assert stack.ps() == {} and not Networks(stack.paths).list()
    finally:
        holder.close()


def test_killed_up_converges_and_down_cleans(stack):
    services = "\n".join(f"""
          s{i}:
            image: busybox
            command: sleep 60
            init: true""" for i in range(6))
    stack.write("services:" + services + "\n")
    env = dict(os.environ, **stack.env, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-m", "compose", "up", "-d"], cwd=stack.dir, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: len(stack.ps()) >= 2, timeout=20)
    proc.kill()
    proc.wait()
    stack.berth("up", "-d")
    state = stack.ps()
    assert len(state) == 6 and all(c["State"] == "running" for c in state.values())
    stack.berth("down", "-t", "0")
    assert stack.ps() == {} and not Networks(stack.paths).list()
    assert not os.listdir(stack.paths.run / "netns")


def test_commands_on_a_running_project(stack, tmp_path):
    stack.write("""
        services:
          app:
            image: busybox
            command: sh -c 'echo booted; trap "exit 0" TERM; while true; do sleep 0.1; done'
            working_dir: /tmp
    """)
    stack.berth("up", "-d")
    assert stack.berth("exec", "-T", "app", "pwd").stdout == "/tmp\n"
    assert stack.berth("exec", "-T", "app", "sh", "-c", "exit 5", check=False).returncode == 5
    out = stack.berth("run", "--rm", "-T", "app", "echo", "one-off")
    assert out.stdout == "one-off\n"
    assert [n for n in stack.ps() if "run" in n] == []
    assert "app-1  | booted" in stack.berth("logs", "--no-color").stdout
    (tmp_path / "in.txt").write_text("copied in\n")
    stack.berth("cp", str(tmp_path / "in.txt"), "app:/tmp/in.txt")
    assert stack.berth("exec", "-T", "app", "cat", "/tmp/in.txt").stdout == "copied in\n"
    stack.berth("cp", "app:/tmp/in.txt", str(tmp_path / "out.txt"))
    assert (tmp_path / "out.txt").read_text() == "copied in\n"
    stack.berth("pause")
    assert stack.ps()["proj-app-1"]["State"] == "paused"
    stack.berth("unpause")
    stack.berth("stop")
    assert stack.ps()["proj-app-1"]["State"] == "exited"
    stack.berth("cp", str(tmp_path / "in.txt"), "app:/tmp/while-stopped.txt")
    stack.berth("start")
    assert stack.berth("exec", "-T", "app", "cat", "/tmp/while-stopped.txt").stdout == "copied in\n"
    stack.berth("restart")
    assert stack.ps()["proj-app-1"]["State"] == "running"
    assert "proj" in stack.berth("ls").stdout
    assert "busybox" in stack.berth("images").stdout
    assert "sh -c" in stack.berth("top").stdout
    stack.berth("kill")
    wait_for(lambda: stack.ps()["proj-app-1"]["State"] == "exited")
    stack.berth("rm", "-f")
    assert stack.ps() == {}


def test_build_on_up_and_rebuild(stack):
    (stack.dir / "app").mkdir()
    (stack.dir / "app" / "msg.txt").write_text("version one\n")
    (stack.dir / "app" / "Dockerfile").write_text(
        "FROM busybox\nARG WHO=nobody\nCOPY msg.txt /msg.txt\n"
        "RUN echo built for $WHO >> /msg.txt\nCMD [\"sh\", \"-c\", \"cat /msg.txt; sleep 60\"]\n")
    stack.write("""
        services:
          app:
            build:
              context: ./app
              args: {WHO: tests}
            init: true
    """)
    out = stack.berth("up", "-d")
    assert "[4/5] RUN echo built for $WHO >> /msg.txt" in out.stderr
    first = stack.ps()["proj-app-1"]
    assert first["Image"] == "docker.io/library/proj-app:latest"
    wait_for(lambda: "built for tests" in stack.berth("logs").stdout)
    assert "version one" in stack.berth("logs").stdout
    stack.berth("up", "-d")  # nothing changed: no rebuild, no recreate
    assert stack.ps()["proj-app-1"]["ID"] == first["ID"]
    (stack.dir / "app" / "msg.txt").write_text("version two\n")
    out = stack.berth("up", "-d", "--build")
    assert "[3/5] COPY msg.txt /msg.txt\n" in out.stderr  # changed: built again, not cached
    assert stack.ps()["proj-app-1"]["ID"] != first["ID"]
    wait_for(lambda: "version two" in stack.berth("logs").stdout)
    bad = textwrap.dedent("""
        services:
          app:
            build: {context: ./app, dockerfile_inline: "FROM busybox\\nRUN exit 9\\n"}
    """)
    stack.write(bad)
    out = stack.berth("up", "-d", "--build", check=False)
    assert out.returncode == 1 and "service 'app': build failed" in out.stderr
    assert "RUN: the command returned a non-zero code: 9" in out.stderr


def test_anonymous_volumes_survive_a_recreate(stack):
    """As in compose: the replacement mounts the old container's anonymous volumes (an
    image's VOLUME and an unnamed `volumes:` entry); -V gives it new, empty ones."""
    def write(version):
        stack.write(f"""
            services:
              app:
                build: {{context: ., dockerfile_inline: "FROM busybox\\nVOLUME /img\\n"}}
                command: sleep 60
                init: true
                volumes: [/data]
                environment: {{VERSION: "{version}"}}
        """)

    def read():
        return stack.berth("exec", "-T", "app", "sh", "-c", "cat /data/f /img/f",
                           check=False).stdout

    write(1)
    stack.berth("up", "-d")
    stack.berth("exec", "-T", "app", "sh", "-c", "echo a > /data/f; echo b > /img/f")
    first = stack.ps()["proj-app-1"]["ID"]
    write(2)
    stack.berth("up", "-d")
    assert stack.ps()["proj-app-1"]["ID"] != first
    assert read() == "a\nb\n"
    write(3)
    stack.berth("up", "-d", "-V")
    assert read() == ""
    stack.berth("down", "-v")  # the project's volumes go, even the /data one -V left behind
    left = stack.berth("volume", "ls", "-q").stdout.split()
    assert len(left) == 1  # the image's VOLUME that -V left, dangling as in docker
    assert stack.berth("volume", "prune", "-f").stdout == f"Deleted: {left[0]}\n"


def test_security_opt(stack):
    stack.write("""
        services:
          confined:
            image: busybox
            command: sh -c 'unshare -U true'
          unconfined:
            image: busybox
            command: sh -c 'unshare -U true'
            security_opt: ["seccomp=unconfined", "no-new-privileges:true", "label=disable"]
          asked:
            image: busybox
            command: sh -c 'grep -q "NoNewPrivs:.*1" /proc/self/status'
            security_opt: ["no-new-privileges"]
          default:
            image: busybox
            command: sh -c 'grep -q "NoNewPrivs:.*0" /proc/self/status'
    """)
    stack.berth("up", "-d", "--wait", check=False)
    wait_for(lambda: all(c["State"] == "exited" for c in stack.ps().values()), timeout=20)
    codes = {name: c["ExitCode"] for name, c in stack.ps().items()}
    assert codes["proj-unconfined-1"] == 0 and codes["proj-confined-1"] != 0
    assert codes["proj-asked-1"] == 0 and codes["proj-default-1"] == 0  # only when asked
    stack.berth("down")
    stack.write("""
        services:
          bad:
            image: busybox
            security_opt: ["seccomp=./profile.json"]
    """)
    out = stack.berth("up", "-d", check=False)
    assert out.returncode == 1 and "service 'bad': security_opt 'seccomp=./profile.json'" in out.stderr
    assert stack.ps() == {} and "proj_default" not in stack.berth("network", "ls").stdout


def test_lifecycle_hooks(stack):
    """post_start runs once the container started (here as root, for a non-root service);
    pre_stop runs before stop and down; a failing hook fails the command, saying which."""
    stack.write("""
        services:
          app:
            image: busybox
            user: nobody
            command: sh -c 'trap "exit 0" TERM; while true; do sleep 0.1; done'
            volumes: [data:/data]
            post_start:
              - command: chown nobody /data
                user: root
              - command: sh -c 'echo started by $$(id -u) $$GREETING >> /data/log'
                environment: {GREETING: hello}
            pre_stop:
              - command: sh -c 'echo stopping >> /data/log'
        volumes:
          data: {}
    """)
    stack.berth("up", "-d")
    log = lambda: stack.berth("exec", "-T", "app", "cat", "/data/log").stdout  # noqa: E731
    assert log() == "started by 65534 hello\n"
    stack.berth("stop")
    stack.berth("start")
    assert log() == "started by 65534 hello\nstopping\nstarted by 65534 hello\n"
    stack.berth("start")  # already running: no hooks
    assert log().count("started") == 2
    stack.write((stack.dir / "compose.yaml").read_text().replace("hello", "again"))
    stack.berth("up", "-d")  # recreated: the old container's pre_stop, the new one's post_start
    assert log().endswith("stopping\nstarted by 65534 again\n")
    stack.write("""
        services:
          app:
            image: busybox
            command: sleep 60
            init: true
            post_start: [{command: sh -c 'exit 3'}]
            pre_stop: [{command: /nope}]
    """)
    out = stack.berth("up", "-d", check=False)
    assert out.returncode == 1 and "service 'app': post_start[0] hook exited with status 3" in out.stderr
    out = stack.berth("down", check=False)
    assert out.returncode == 1 and "service 'app': pre_stop[0] hook exited with status 127" in out.stderr
    assert stack.ps() == {}  # stopped and removed all the same


def test_keys_berth_leaves_aside_are_named(stack):
    stack.write("""
        services:
          app:
            image: busybox
            command: "true"
            use_api_socket: true
            userns_mode: host
            logging: {driver: syslog}
        networks:
          default: {enable_ipv6: true}
    """)
    out = stack.berth("up", "-d")
    assert ("WARN service 'app': 'use_api_socket': berth has no Docker API socket to share: "
            "the container gets none") in out.stderr
    assert "'userns_mode' is not supported" in out.stderr
    assert "logging driver 'syslog' is not supported" in out.stderr
    assert "network 'default': enable_ipv6 is not supported by berth (IPv4 only)" in out.stderr


def test_gpus_on_a_host_without_any_are_an_error_naming_the_service(stack):
    stack.write("""
        services:
          trainer: {image: busybox, command: "true", gpus: all}
    """)
    out = stack.berth("up", "-d", check=False)
    assert out.returncode == 1 and out.stderr.strip().splitlines()[-1] == (
        "berth: service 'trainer' asks for GPUs, and this host has none (no "
        "/dev/nvidia[0-9]* device; is the NVIDIA driver loaded?)")
    assert stack.ps() == {} and not Networks(stack.paths).list()


def test_scale_volumes_attach_version(stack):
    stack.write("""
        services:
          app:
            image: busybox
            command: sh -c 'sleep 3; echo bye; exit 3'
            volumes: [data:/data]
          other:
            image: busybox
            command: sleep 60
            init: true
        volumes:
          data: {}
    """)
    stack.berth("up", "-d")
    out = stack.berth("attach", "--no-stdin", "app", check=False, timeout=30)
    assert (out.returncode, out.stdout) == (3, "bye\n")
    assert stack.berth("volumes", "-q").stdout == "proj_data\n"
    assert stack.berth("volumes", "-q", "other").stdout == ""
    stack.berth("scale", "other=3")
    assert sorted(n for n in stack.ps() if "other" in n) == [f"proj-other-{i}" for i in (1, 2, 3)]
    assert stack.berth("version", "--short").stdout.strip()


def test_commands_at_the_same_time(stack):
    """Two `up` of one project take turns (the second finds it done); two projects come
    up at once on networks of their own, with different subnets."""
    from concurrent.futures import ThreadPoolExecutor

    stack.write("""
        services:
          a: {image: busybox, command: sleep 60, init: true}
          b: {image: busybox, command: sleep 60, init: true, depends_on: [a]}
          c: {image: busybox, command: sleep 60, init: true, deploy: {replicas: 2}}
    """)
    with ThreadPoolExecutor(4) as pool:
        runs = list(pool.map(lambda args: stack.berth(*args, check=False),
                             [("up", "-d"), ("up", "-d"), ("-p", "other", "up", "-d"),
                              ("-p", "third", "up", "-d")]))
    assert [r.returncode for r in runs] == [0, 0, 0, 0], [r.stderr for r in runs]
    states = {name: c["State"] for name, c in stack.ps().items()}
    assert states == dict.fromkeys(["proj-a-1", "proj-b-1", "proj-c-1", "proj-c-2"], "running")
    subnets = [json.loads(stack.berth("network", "inspect", f"{p}_default").stdout)[0]["subnet"]
               for p in ("proj", "other", "third")]
    assert len(set(subnets)) == 3
    for project in ("other", "third"):
        stack.berth("-p", project, "down")


def test_external_links(stack):
    """A container of another project, on a network both use, answers to the alias."""
    (stack.dir / "other").mkdir()
    stack.write("""
        services:
          db:
            image: busybox
            container_name: shared-db
            command: sleep 60
            init: true
            networks: [shared]
        networks:
          shared: {name: shared-net}
    """, "other/compose.yaml")
    stack.berth("-f", "other/compose.yaml", "-p", "other", "up", "-d")
    stack.write("""
        services:
          app:
            image: busybox
            command: sleep 60
            init: true
            external_links: ["shared-db:database"]
            networks: [shared]
        networks:
          shared: {external: true, name: shared-net}
    """)
    stack.berth("up", "-d")
    out = stack.berth("exec", "-T", "app", "nslookup", "database", check=False)
    assert out.returncode == 0 and "Address" in out.stdout.split("database")[-1], out.stdout
    stack.berth("down")
    stack.berth("-f", "other/compose.yaml", "-p", "other", "down")


def test_more_of_composes_flags(stack):
    stack.write("""
        services:
          ok:
            image: busybox
            command: sh -c 'echo first; sleep 0.3; echo second; sleep 60'
            init: true
          bad:
            image: busybox
            command: sh -c 'sleep 1; exit 4'
          fine:
            image: busybox
            command: "true"
    """)
    out = stack.berth("up", "--no-start")
    assert {c["State"] for c in stack.ps().values()} == {"created"}
    out = stack.berth("up", "--abort-on-container-failure", "--no-log-prefix", "--no-color",
                      check=False, timeout=60)
    assert out.returncode == 4, out.stdout + out.stderr  # `fine` exiting 0 did not abort
    assert "\nfirst\n" in "\n" + out.stdout and "ok-1  |" not in out.stdout
    table = stack.berth("ps", "-a", "--filter", "status=exited",
                        "--format", "{{.Service}}\\t{{ .ExitCode }}").stdout
    assert sorted(table.splitlines()) == ["bad\t4", "fine\t0", "ok\t143"], table
    bad = stack.berth("ps", "-a", "--format", "{{.Nope}}", check=False)
    assert bad.returncode == 2 and "no field 'Nope'" in bad.stderr
    logs = stack.berth("logs", "--no-log-prefix", "ok").stdout
    assert logs == "first\nsecond\n"
    first = stack.berth("logs", "-t", "--no-log-prefix", "ok").stdout.split()[0]  # its time
    assert stack.berth("logs", "--until", first, "ok").stdout == ""
    bad = stack.berth("logs", "--since", "yesterday-ish", check=False)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_run_one_offs_answer_to_their_own_name(stack):
    stack.write("""
        services:
          app: {image: busybox, command: sleep 60, init: true}
    """)
    stack.berth("up", "-d")
    caps = stack.berth("run", "--rm", "-T", "--cap-add", "SYS_TIME", "-l", "purpose=test", "app",
                       "grep", "CapEff", "/proc/self/status").stdout
    assert caps.split()[1] == "00000000aa0425fb"  # docker's default set and SYS_TIME
    stack.berth("run", "-d", "--name", "oneoff", "app", "sleep", "30")
    stack.berth("run", "-d", "--name", "aliased", "--use-aliases", "app", "sleep", "30")
    answer = stack.berth("exec", "-T", "app", "nslookup", "app").stdout
    addresses = [line for line in answer.splitlines() if line.startswith("Address: ")]
    assert len(addresses) == 2, answer  # the service's container and the aliased one-off
    assert json.loads(stack.berth("container", "inspect", "oneoff").stdout)[0][
        "Config"]["Labels"]["com.docker.compose.oneoff"] == "True"


def test_timings_break_a_command_into_its_phases(stack):
    """--timings (or BERTH_TIMINGS=1): every phase of `up` down to the monitor's parts of
    a start, each inside the total, in the order they began."""
    stack.write("""
        services:
          web: {image: busybox, command: sleep 60, init: true}
    """)
    lines = stack.berth("--timings", "up", "-d").stderr.splitlines()
    rows = lines[lines.index("timings (ms): start length phase") + 1:]
    spans = [(float(start), float(length), name)
             for start, length, name in (row.split(maxsplit=2) for row in rows[:-1])]
    total = float(rows[-1].split()[0])
    names = [name for _, _, name in spans]
    for expected in ("start-up (interpreter, site)", "import and parse the command line",
                     "load the project", "plan", "Network proj_default Creating",
                     "Container proj-web-1 Creating", "Container proj-web-1 Starting",
                     "proj-web-1: network namespace, veths, DNS, ports", "proj-web-1: cgroups",
                     "proj-web-1: init: root file system, privileges, exec"):
        assert expected in names, (expected, names)
    assert [start for start, _, _ in spans] == sorted(start for start, _, _ in spans)
    assert all(start + length <= total + 0.1 for start, length, _ in spans)
    down = run_berth("down", "-t", "0", cwd=stack.dir, env={**stack.env, "BERTH_TIMINGS": "1"},
                     check=True).stderr
    assert "Container proj-web-1 Stopping" in down and "Network proj_default Removing" in down
    assert "timings" not in stack.berth("ps").stderr
