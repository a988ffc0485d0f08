"""A service's pod: container, probes, the waits of depends_on, storage, security."""
import base64

from compose.kube.model import Options
from tests.kube.support import container, convert_text, objects, outcomes, pod_spec


def test_command_entrypoint_and_literal_dollars(tmp_path):
    c = convert_text(tmp_path, """
        services:
          app:
            image: app
            entrypoint: ["/bin/sh", "-c"]
            command: ["echo $$HOME costs $$(5)"]
          bare: {image: app, entrypoint: [], command: [run, it]}
    """)
    app = container(c, "Deployment", "app")
    assert app["command"] == ["/bin/sh", "-c"]
    assert app["args"] == ["echo $$HOME costs $$(5)"]  # Kubernetes reads $$ as one $
    bare = container(c, "Deployment", "bare")
    assert bare["command"] == ["run", "it"] and "args" not in bare


def test_environment_inline_and_env_file_in_a_configmap(tmp_path):
    (tmp_path / "app.env").write_text("FROM_FILE=1\nBOTH=file\n")
    c = convert_text(tmp_path, """
        services:
          app:
            image: app
            env_file: [app.env]
            environment: {BOTH: mine, PRICE: "$$5"}
    """)
    app = container(c, "Deployment", "app")
    assert app["env"] == [{"name": "BOTH", "value": "mine"}, {"name": "PRICE", "value": "$$5"}]
    assert app["envFrom"] == [{"configMapRef": {"name": "app-env"}}]
    assert objects(c)[("ConfigMap", "app-env")]["data"] == {"FROM_FILE": "1"}
    assert ("env_file", "mapped", "ConfigMap app-env (envFrom); the service's own environment "
            "wins") in outcomes(c, "app")


def test_service_healthy_readiness_probe_and_a_tcp_wait(tmp_path):
    c = convert_text(tmp_path, """
        services:
          db:
            image: postgres
            expose: ["5432"]
            healthcheck: {test: pg_isready, interval: 5s, timeout: 2s, retries: 4, start_period: 30s}
          app:
            image: app
            depends_on: {db: {condition: service_healthy}}
    """, options=Options(liveness=True))
    db = container(c, "Deployment", "db")
    assert db["readinessProbe"] == {"exec": {"command": ["/bin/sh", "-c", "pg_isready"]},
                                    "periodSeconds": 5, "timeoutSeconds": 2,
                                    "failureThreshold": 4}
    assert db["livenessProbe"] == {**db["readinessProbe"], "initialDelaySeconds": 30}
    wait = pod_spec(c, "Deployment", "app")["initContainers"][0]
    assert wait["name"] == "wait-for-db" and wait["image"] == "busybox:1.36"
    assert "nc -w 2 db 5432 -e true" in wait["command"][2]
    assert objects(c)[("Service", "db")]["spec"]["ports"][0]["port"] == 5432


def test_liveness_probes_only_when_asked(tmp_path):
    c = convert_text(tmp_path, "services: {db: {image: db, healthcheck: {test: [CMD, ok]}}}")
    db = container(c, "Deployment", "db")
    assert db["readinessProbe"]["exec"]["command"] == ["ok"]
    assert db["readinessProbe"]["periodSeconds"] == 30  # compose's default interval
    assert "livenessProbe" not in db


def test_a_dependency_without_ports_is_waited_for_through_its_headless_service(tmp_path):
    c = convert_text(tmp_path, """
        services:
          worker: {image: w, healthcheck: {test: [CMD, ok]}}
          app: {image: app, depends_on: {worker: {condition: service_healthy}}}
    """)
    service = objects(c)[("Service", "worker")]["spec"]
    assert service["clusterIP"] == "None" and "ports" not in service
    wait = pod_spec(c, "Deployment", "app")["initContainers"][0]
    assert "nslookup worker.$POD_NAMESPACE.svc.cluster.local" in wait["command"][2]
    assert wait["env"][0]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"


def test_service_started_is_dropped_and_reported(tmp_path):
    c = convert_text(tmp_path, """
        services:
          cache: {image: redis}
          app: {image: app, depends_on: [cache]}
    """)
    assert "initContainers" not in pod_spec(c, "Deployment", "app")
    key, outcome, detail = outcomes(c, "app")[-1]
    assert (key, outcome) == ("depends_on", "dropped") and "service_started" in detail


def test_bound_file_becomes_a_configmap_and_a_directory_is_dropped(tmp_path):
    (tmp_path / "nginx.conf").write_text("events {}\n")
    (tmp_path / "logo.png").write_bytes(b"\x89PNG\xff\x00")
    (tmp_path / "site").mkdir()
    c = convert_text(tmp_path, """
        services:
          web:
            image: nginx
            volumes:
              - ./nginx.conf:/etc/nginx/nginx.conf:ro
              - ./logo.png:/srv/logo.png
              - ./site:/usr/share/nginx/html
    """)
    files = objects(c)[("ConfigMap", "web-files")]
    assert files["data"] == {"etc_nginx_nginx.conf": "events {}\n"}
    assert files["binaryData"] == {"srv_logo.png": base64.b64encode(b"\x89PNG\xff\x00").decode()}
    mounts = container(c, "Deployment", "web")["volumeMounts"]
    assert mounts == [
        {"name": "files", "mountPath": "/etc/nginx/nginx.conf", "subPath": "etc_nginx_nginx.conf",
         "readOnly": True},
        {"name": "files", "mountPath": "/srv/logo.png", "subPath": "srv_logo.png",
         "readOnly": True}]
    assert pod_spec(c, "Deployment", "web")["volumes"] == [
        {"name": "files", "configMap": {"name": "web-files"}}]
    found = outcomes(c, "web")
    assert ("volumes", "dropped", "./site -> /usr/share/nginx/html: a bound directory (no "
            "hostPath; put its files in the image or a volume)") in found
    assert ("volumes", "approximated", "./logo.png -> ConfigMap web-files (key srv_logo.png) at "
            "/srv/logo.png: read-only, as a ConfigMap is") in found


def test_configs_and_secrets_are_mounted_where_compose_mounts_them(tmp_path):
    (tmp_path / "pw.txt").write_text("s3cret")
    c = convert_text(tmp_path, """
        services:
          app:
            image: app
            configs: [{source: settings, target: /etc/app.toml, mode: "0400"}]
            secrets: [pw]
        configs: {settings: {content: "port = 1"}}
        secrets: {pw: {file: ./pw.txt}, unused: {file: ./nowhere}}
    """)
    assert objects(c)[("ConfigMap", "config-settings")]["data"] == {"settings": "port = 1"}
    secret = objects(c)[("Secret", "secret-pw")]
    assert secret["data"] == {"pw": "czNjcmV0"} and secret["type"] == "Opaque"
    assert ("Secret", "secret-unused") not in objects(c)
    assert container(c, "Deployment", "app")["volumeMounts"] == [
        {"name": "config-settings", "mountPath": "/etc/app.toml", "subPath": "settings",
         "readOnly": True},
        {"name": "secret-pw", "mountPath": "/run/secrets/pw", "subPath": "pw", "readOnly": True}]
    volumes = pod_spec(c, "Deployment", "app")["volumes"]
    assert volumes[0]["configMap"] == {"name": "config-settings", "defaultMode": 0o400}
    assert volumes[1]["secret"] == {"secretName": "secret-pw", "defaultMode": 0o444}


def test_a_secret_whose_file_is_missing_is_left_to_create(tmp_path):
    c = convert_text(tmp_path, """
        services: {app: {image: app, secrets: [pw]}}
        secrets: {pw: {file: ./missing.txt}}
    """)
    assert ("Secret", "secret-pw") not in objects(c)
    note = [o for o in c.report.project_notes if o.key == "secrets.pw"][0]
    assert note.outcome == "dropped"
    assert note.detail == ("./missing.txt is not a file here: create Secret secret-pw (key pw) "
                           "before applying")


def test_tmpfs_shm_and_anonymous_volumes_are_empty_dirs(tmp_path):
    c = convert_text(tmp_path, """
        services:
          app:
            image: app
            tmpfs: ["/run:size=64m", /tmp]
            shm_size: 1g
            volumes: [/cache]
    """)
    volumes = {v["name"]: v for v in pod_spec(c, "Deployment", "app")["volumes"]}
    assert volumes["anonymous"] == {"name": "anonymous", "emptyDir": {}}
    assert volumes["tmpfs"]["emptyDir"] == {"medium": "Memory", "sizeLimit": "64Mi"}
    assert volumes["tmpfs-2"]["emptyDir"] == {"medium": "Memory"}
    assert volumes["shm"]["emptyDir"] == {"medium": "Memory", "sizeLimit": "1Gi"}
    assert {m["mountPath"] for m in container(c, "Deployment", "app")["volumeMounts"]} == \
        {"/cache", "/run", "/tmp", "/dev/shm"}


def test_security_context_and_resources(tmp_path):
    c = convert_text(tmp_path, """
        services:
          app:
            image: app
            user: "1000:2000"
            cap_add: [CAP_NET_ADMIN]
            cap_drop: [ALL]
            read_only: true
            security_opt: [no-new-privileges, "seccomp:unconfined", label=disable]
            sysctls: [net.ipv4.tcp_syncookies=1]
            group_add: ["5", wheel]
            mem_limit: 256m
            mem_reservation: 1g
            cpus: 0.25
          root: {image: app, user: root, privileged: true, security_opt: [no-new-privileges]}
          named: {image: app, user: nginx}
    """)
    app = container(c, "Deployment", "app")
    assert app["securityContext"] == {
        "runAsUser": 1000, "runAsGroup": 2000,
        "capabilities": {"add": ["NET_ADMIN"], "drop": ["ALL"]},
        "readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False,
        "seccompProfile": {"type": "Unconfined"}}
    assert pod_spec(c, "Deployment", "app")["securityContext"] == {
        "sysctls": [{"name": "net.ipv4.tcp_syncookies", "value": "1"}],
        "supplementalGroups": [5]}
    assert app["resources"] == {"limits": {"memory": "256Mi", "cpu": "250m"},
                                "requests": {"memory": "256Mi"}}  # cut to its limit
    assert container(c, "Deployment", "root")["securityContext"] == {"runAsUser": 0,
                                                                      "privileged": True}
    assert "securityContext" not in container(c, "Deployment", "named")
    assert outcomes(c, "named")[-1][:2] == ("user", "dropped")


def test_pod_settings(tmp_path):
    c = convert_text(tmp_path, """
        services:
          app:
            image: app
            hostname: box
            extra_hosts: ["a.local=10.0.0.1", "b.local=10.0.0.1"]
            dns: [9.9.9.9]
            dns_opt: ["ndots:2", "rotate"]
            platform: linux/arm64/v8
            stop_grace_period: 1m30s
            init: true
            tty: true
            stdin_open: true
            pull_policy: always
            labels: {tier: web, description: "two words"}
            annotations: {example.com/owner: me}
            post_start: [{command: [warm]}]
    """)
    spec = pod_spec(c, "Deployment", "app")
    assert spec["hostname"] == "box"
    assert spec["hostAliases"] == [{"ip": "10.0.0.1", "hostnames": ["a.local", "b.local"]}]
    assert spec["dnsConfig"] == {"nameservers": ["9.9.9.9"],
                                 "options": [{"name": "ndots", "value": "2"}, {"name": "rotate"}]}
    assert spec["nodeSelector"] == {"kubernetes.io/os": "linux", "kubernetes.io/arch": "arm64"}
    assert spec["terminationGracePeriodSeconds"] == 90
    assert spec["shareProcessNamespace"] is True
    app = spec["containers"][0]
    assert (app["tty"], app["stdin"], app["imagePullPolicy"]) == (True, True, "Always")
    assert app["lifecycle"] == {"postStart": {"exec": {"command": ["warm"]}}}
    meta = objects(c)[("Deployment", "app")]["spec"]["template"]["metadata"]
    assert meta["labels"]["tier"] == "web"
    assert meta["annotations"] == {"description": "two words", "example.com/owner": "me"}
