"""The adapter's conversion: a compose container request -> the runtime's run options."""
import os
import textwrap

import pytest

from compose.adapter.runspec import Lookups, port_mapping, run_options
from compose.backend import ContainerRequest
from compose.devices import HostGpus
from compose.errors import ComposeError
from compose.load import LoadOptions, load_project
from compose.model import Port
from compose.validate import ignored


def project(tmp_path, text, environ=None):
    (tmp_path / "compose.yaml").write_text(textwrap.dedent(text))
    return load_project(LoadOptions(cwd=str(tmp_path), project_name="demo",
                                    environ=environ or {}))


def lookups(tmp_path, made=None):
    made = made if made is not None else []

    def anonymous():
        made.append(f"anon{len(made)}")
        return made[-1]

    return Lookups(volume_path=lambda name: f"/volumes/{name}/_data", anonymous_volume=anonymous,
                   container_of=lambda service: f"id-of-{service}",
                   mounts_of=lambda cid: [], runtime_dir=str(tmp_path / "run"),
                   image_root=lambda ref: f"/images/{ref}",
                   host_gpus=lambda: HostGpus(("/dev/nvidia0", "/dev/nvidia1"),
                                              ("/dev/nvidiactl",)))


def convert(tmp_path, p, service="app", **request):
    svc = p.services[service]
    req = ContainerRequest(svc, request.pop("name", f"demo-{service}-1"), 1,
                           request.pop("labels", {"x": "y"}), **request)
    return run_options(p, req, lookups(tmp_path))


def test_a_service_becomes_run_options(tmp_path):
    p = project(tmp_path, """
        services:
          app:
            image: busybox
            command: [sh, -c, "echo hi"]
            environment: {A: "1", B: null}
            user: "1000"
            ports: ["127.0.0.1:8080:80/udp"]
            networks: {front: {aliases: [www], ipv4_address: 10.1.0.5}}
            mem_limit: 64m
            labels: {tier: web}
        networks: {front: {}}
    """)
    opts = convert(tmp_path, p)
    assert opts.command == ["sh", "-c", "echo hi"] and opts.env == ["A=1"]
    assert opts.user == "1000" and opts.resources.memory == 64 << 20
    assert opts.labels == {"tier": "web", "x": "y"}
    [endpoint] = opts.network.endpoints
    assert (endpoint.network, endpoint.aliases, endpoint.static_ip) == (
        "demo_front", ["app", "www"], "10.1.0.5")
    [port] = opts.network.ports
    assert (port.host_ip, port.host_port, port.container_port, port.protocol) == (
        "127.0.0.1", 8080, 80, "udp")


def test_a_one_off_answers_to_its_own_name_only(tmp_path):
    p = project(tmp_path, """
        services:
          app: {image: busybox, networks: {front: {aliases: [www], ipv4_address: 10.1.0.5}}}
        networks: {front: {}}
    """)
    [endpoint] = convert(tmp_path, p, oneoff=True, tty=True, auto_remove=True).network.endpoints
    assert (endpoint.aliases, endpoint.static_ip) == ([], None)
    opts = convert(tmp_path, p, oneoff=True, use_aliases=True)
    assert opts.network.endpoints[0].aliases == ["app", "www"] and not opts.auto_remove


def test_volumes_named_anonymous_inherited_and_tmpfs(tmp_path):
    p = project(tmp_path, """
        services:
          app:
            image: busybox
            volumes: [data:/data, /cache, {type: volume, source: data, target: /sub,
                      volume: {subpath: logs}}, {type: tmpfs, target: /tmp}]
        volumes: {data: {}}
    """)
    req = ContainerRequest(p.services["app"], "demo-app-1", 1, {},
                           inherited_volumes={"/cache": "old-anon", "/image-volume": "img-anon"})
    mounts = run_options(p, req, lookups(tmp_path)).mounts
    got = [(m.type, m.source, m.target, m.volume, m.subpath) for m in mounts]
    assert got == [("bind", "/volumes/demo_data/_data", "/data", "demo_data", None),
                   ("bind", "/volumes/old-anon/_data", "/cache", "old-anon", None),
                   ("bind", "/volumes/demo_data/_data", "/sub", "demo_data", "logs"),
                   ("tmpfs", None, "/tmp", None, None),
                   ("bind", "/volumes/img-anon/_data", "/image-volume", "img-anon", None)]


def test_secrets_from_the_environment_are_written_root_only(tmp_path):
    p = project(tmp_path, """
        services: {app: {image: busybox, secrets: [token]}}
        secrets: {token: {environment: TOKEN}}
    """, environ={"TOKEN": "s3cret"})
    [mount] = convert(tmp_path, p).mounts
    assert (mount.target, mount.read_only) == ("/run/secrets/token", True)
    assert open(mount.source).read() == "s3cret"
    assert oct(os.stat(mount.source).st_mode & 0o777) == "0o444"
    assert oct(os.stat(os.path.dirname(mount.source)).st_mode & 0o777) == "0o700"


def test_secrets_and_configs_are_files_owned_and_moded_as_asked(tmp_path):
    """docker/compose#9648, #13287: uid, gid and mode are honoured, for files too (a
    copy is bound, never the source, whose owner and mode would show through)."""
    (tmp_path / "key.pem").write_text("KEY")
    os.chmod(tmp_path / "key.pem", 0o666)
    p = project(tmp_path, """
        services:
          app:
            image: busybox
            secrets: [{source: key, uid: "1000", gid: "1001", mode: 0400}, plain]
            configs: [{source: conf, target: /etc/app.conf, mode: 0440, gid: "50"}]
        secrets: {key: {file: ./key.pem}, plain: {environment: PLAIN}}
        configs: {conf: {content: "debug: true"}}
    """, environ={"PLAIN": "p"})
    mounts = {m.target: m for m in convert(tmp_path, p).mounts}
    assert set(mounts) == {"/run/secrets/key", "/run/secrets/plain", "/etc/app.conf"}
    found = {}
    for target, mount in mounts.items():
        st = os.stat(mount.source)
        found[target] = (open(mount.source).read(), st.st_uid, st.st_gid,
                         oct(st.st_mode & 0o777), mount.read_only)
    assert found == {"/run/secrets/key": ("KEY", 1000, 1001, "0o400", True),
                     "/run/secrets/plain": ("p", 0, 0, "0o444", True),
                     "/etc/app.conf": ("debug: true", 0, 50, "0o440", True)}
    assert mounts["/run/secrets/key"].source != str(tmp_path / "key.pem")


def test_a_missing_secret_variable_or_file_names_the_service(tmp_path):
    p = project(tmp_path, """
        services: {app: {image: busybox, secrets: [a]}}
        secrets: {a: {environment: NOPE}}
    """)
    with pytest.raises(ComposeError, match="service 'app': secret 'a': environment variable "
                                           "NOPE is not set"):
        convert(tmp_path, p)


def test_image_mounts_bind_the_image_s_files_read_only(tmp_path):
    p = project(tmp_path, """
        services:
          app:
            image: busybox
            volumes: [{type: image, source: "models:1", target: /models, image: {subpath: v2}}]
    """)
    [mount] = convert(tmp_path, p).mounts
    assert (mount.type, mount.source, mount.target, mount.read_only, mount.subpath) == (
        "bind", "/images/models:1", "/models", True, "v2")


def test_shared_namespaces_point_at_the_other_service_s_container(tmp_path):
    p = project(tmp_path, """
        services:
          app: {image: busybox, network_mode: "service:db", ipc: "service:db", pid: host}
          db: {image: busybox}
    """)
    opts = convert(tmp_path, p)
    assert (opts.network.mode, opts.ipc, opts.pid_mode) == (
        "container:id-of-db", "container:id-of-db", "host")


def test_what_the_runtime_can_not_do_is_an_error_naming_the_service(tmp_path):
    p = project(tmp_path, "services: {app: {image: busybox, network_mode: 'cni:x'}}")
    with pytest.raises(ComposeError, match="service 'app': network_mode 'cni:x' is not supported"):
        convert(tmp_path, p)


def test_port_ranges():
    mapping = port_mapping(Port(target=80, published="8000-8010"))
    assert (mapping.host_port, mapping.host_port_end) == (8000, 8010)
    assert port_mapping(Port(target=53, protocol="udp")).host_port == 0  # a free one


def test_restart_policies_with_deploy_s_timings_reach_the_runtime(tmp_path):
    from runtime.monitor.restart import restart_delay

    p = project(tmp_path, """
        services:
          app:
            image: busybox
            deploy: {restart_policy: {condition: on-failure, max_attempts: 2, delay: 3s,
                                      window: 30s}}
          plain: {image: busybox, restart: "on-failure:4"}
    """)
    policy = convert(tmp_path, p).restart
    assert policy == "on-failure:2;delay=3;window=30"
    assert convert(tmp_path, p, "plain").restart == "on-failure:4"
    # the monitor's decision: the delay asked, at most two restarts, a 30 s run resets
    assert restart_delay(policy, 1, 0, 0.0, False) == 3.0
    assert restart_delay(policy, 1, 2, 5.0, False) is None
    assert restart_delay(policy, 1, 2, 30.0, False) == 3.0
    assert restart_delay(policy, 0, 0, 0.0, False) is None
    assert restart_delay("always:1", 0, 1, 0.0, False) is None  # condition any, max_attempts


def test_gpus_are_passed_through_with_the_driver_s_shared_nodes(tmp_path):
    p = project(tmp_path, """
        services:
          app: {image: busybox, gpus: [{count: 1}], devices: ["/dev/fuse"]}
    """)
    assert convert(tmp_path, p).devices == [["/dev/fuse", "/dev/fuse", "rwm"],
                                            ["/dev/nvidia0", "/dev/nvidia0", "rwm"],
                                            ["/dev/nvidiactl", "/dev/nvidiactl", "rwm"]]


def test_volumes_from_a_container_or_a_service(tmp_path):
    from runtime.spec import Mount

    p = project(tmp_path, """
        services:
          app: {image: busybox, volumes_from: ["container:abc123:ro", "db"]}
          db: {image: busybox}
    """)
    shared = {"abc123": [Mount(type="bind", source="/v/a", target="/a")],
              "id-of-db": [Mount(type="bind", source="/v/d", target="/d")]}
    made = lookups(tmp_path)
    made.mounts_of = lambda cid: shared[cid]
    req = ContainerRequest(p.services["app"], "demo-app-1", 1, {})
    mounts = run_options(p, req, made).mounts
    assert [(m.source, m.target, m.read_only) for m in mounts] == [
        ("/v/a", "/a", True), ("/v/d", "/d", False)]


def _block_device() -> str | None:
    import stat

    for name in sorted(os.listdir("/dev")):
        path = f"/dev/{name}"
        try:
            if stat.S_ISBLK(os.stat(path).st_mode):
                return path
        except OSError:
            continue
    return None


def test_blkio_config_becomes_the_runtime_s_block_limits(tmp_path):
    device = _block_device()
    if device is None:
        pytest.skip("no block device on this machine")
    st = os.stat(device)
    number = f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}"
    p = project(tmp_path, f"""
        services:
          app:
            image: busybox
            blkio_config:
              weight: 300
              weight_device: [{{path: {device}, weight: 400}}]
              device_read_bps: [{{path: {device}, rate: 1mb}}]
              device_write_iops: [{{path: {device}, rate: 120}}]
    """)
    res = convert(tmp_path, p).resources
    assert res.blkio_weight == 300 and res.blkio_weight_device == [(number, 400)]
    assert res.device_read_bps == [(number, 1 << 20)] and res.device_write_iops == [(number, 120)]
    bad = project(tmp_path, """
        services:
          app:
            image: busybox
            blkio_config: {device_read_bps: [{path: /dev/null, rate: 1mb}]}
    """)
    with pytest.raises(ComposeError, match="service 'app': blkio_config: /dev/null is not a "
                                          "block device"):
        convert(tmp_path, bad)
    with pytest.raises(ComposeError, match="weight 5: from 10 to 1000"):
        project(tmp_path, "services:\n  app:\n    image: busybox\n    blkio_config: {weight: 5}\n")


def test_cgroup_namespace_device_rules_and_oom_kill_disable_reach_the_runtime(tmp_path):
    p = project(tmp_path, """
        services:
          app:
            image: busybox
            cgroup: private
            device_cgroup_rules: ["c 1:3 mr", "b *:* m"]
            oom_kill_disable: true
    """)
    options = convert(tmp_path, p)
    assert options.cgroupns == "private"
    assert options.device_cgroup_rules == ["c 1:3 mr", "b *:* m"]
    assert options.resources.oom_kill_disable
    plain = convert(tmp_path, project(tmp_path, "services:\n  app:\n    image: busybox\n"))
    assert (plain.cgroupns, plain.device_cgroup_rules) == ("host", [])
    assert not plain.resources.oom_kill_disable
    assert ignored(p, ["app"]) == []
    with pytest.raises(ComposeError, match=r"device_cgroup_rules\[0\].*'c 1:3': expected "
                                           r"'TYPE MAJOR:MINOR PERMS'"):
        project(tmp_path, "services:\n  app:\n    image: busybox\n"
                          "    device_cgroup_rules: ['c 1:3']\n")
