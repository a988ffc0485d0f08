"""Which workload a service becomes, and its restart policy: never a Deployment that
does not restart always (compose bridge's `restart: no` -> restartPolicy Never)."""
import pytest

from compose.errors import ComposeError
from compose.kube.model import Options
from tests.kube.support import container, convert_text, objects, outcomes, pod_spec


def test_long_running_services_are_deployments_that_always_restart(tmp_path):
    c = convert_text(tmp_path, """
        services:
          web: {image: nginx}
          api: {image: api, restart: unless-stopped}
    """)
    for name in ("web", "api"):
        assert pod_spec(c, "Deployment", name)["restartPolicy"] == "Always"
        assert objects(c)[("Deployment", name)]["spec"]["replicas"] == 1
    assert ("restart", "mapped", "unless-stopped: restartPolicy Always") in outcomes(c, "api")


def test_one_shot_services_are_jobs(tmp_path):
    c = convert_text(tmp_path, """
        services:
          once: {image: busybox, restart: "no"}
          retry: {image: busybox, restart: "on-failure:3"}
          forever: {image: busybox, restart: on-failure}
    """)
    once = objects(c)[("Job", "once")]["spec"]
    assert (once["backoffLimit"], once["template"]["spec"]["restartPolicy"]) == (0, "Never")
    retry = objects(c)[("Job", "retry")]["spec"]
    assert (retry["backoffLimit"], retry["template"]["spec"]["restartPolicy"]) == (3, "OnFailure")
    assert "backoffLimit" not in objects(c)[("Job", "forever")]["spec"]
    assert outcomes(c, "forever")[-1][:2] == ("restart", "approximated")
    assert not [m for m in c.manifests if m.kind == "Deployment"]


def test_a_service_waited_on_to_complete_is_a_job_and_its_dependent_waits(tmp_path):
    c = convert_text(tmp_path, """
        services:
          migrate: {image: app, command: migrate}
          app:
            image: app
            depends_on: {migrate: {condition: service_completed_successfully}}
    """)
    assert pod_spec(c, "Job", "migrate")["restartPolicy"] == "OnFailure"
    spec = pod_spec(c, "Deployment", "app")
    wait = spec["initContainers"][0]
    assert wait["image"].startswith("registry.k8s.io/kubectl:")
    assert wait["args"] == ["wait", "--for=condition=complete", "--timeout=-1s", "job/migrate"]
    assert spec["serviceAccountName"] == "berth-job-waiter"
    role = objects(c)[("Role", "berth-job-waiter")]
    assert role["rules"] == [{"apiGroups": ["batch"], "resources": ["jobs"],
                              "verbs": ["get", "list", "watch"]}]
    binding = objects(c)[("RoleBinding", "berth-job-waiter")]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "berth-job-waiter"}]
    assert c.levels == (("migrate",), ("app",))


def test_replicas_with_named_volumes_make_a_statefulset_with_claim_templates(tmp_path):
    c = convert_text(tmp_path, """
        services:
          db:
            image: postgres
            deploy: {replicas: 3}
            volumes: [data:/var/lib/postgresql/data]
        volumes: {data: {}}
    """)
    spec = objects(c)[("StatefulSet", "db")]["spec"]
    assert spec["replicas"] == 3 and spec["serviceName"] == "db"
    assert [t["metadata"]["name"] for t in spec["volumeClaimTemplates"]] == ["data"]
    assert spec["template"]["spec"]["containers"][0]["volumeMounts"] == [
        {"name": "data", "mountPath": "/var/lib/postgresql/data"}]
    assert "volumes" not in spec["template"]["spec"]
    assert ("PersistentVolumeClaim", "data") not in objects(c)


def test_global_mode_is_a_daemonset(tmp_path):
    c = convert_text(tmp_path, """
        services:
          agent: {image: agent, deploy: {mode: global}, restart: "no"}
    """)
    body = objects(c)[("DaemonSet", "agent")]
    assert "replicas" not in body["spec"]
    assert body["spec"]["template"]["spec"]["restartPolicy"] == "Always"
    assert ("restart", "approximated", "no: a DaemonSet's pods always restart") in outcomes(c, "agent")


def test_replicas_of_a_deployment(tmp_path):
    c = convert_text(tmp_path, "services: {web: {image: nginx, scale: 4}}")
    assert objects(c)[("Deployment", "web")]["spec"]["replicas"] == 4
    assert ("scale", "mapped", "4 replicas") in outcomes(c, "web")


def test_a_deployment_with_an_exclusive_claim_is_recreated_not_rolled(tmp_path):
    c = convert_text(tmp_path, """
        services:
          db: {image: postgres, volumes: [data:/data]}
          web: {image: nginx}
        volumes: {data: {}}
    """)
    assert objects(c)[("Deployment", "db")]["spec"]["strategy"] == {"type": "Recreate"}
    assert "strategy" not in objects(c)[("Deployment", "web")]["spec"]
    claim = objects(c)[("PersistentVolumeClaim", "data")]["spec"]
    assert claim["accessModes"] == ["ReadWriteOnce"]


def test_placement_constraints_on_node_labels_become_a_node_selector(tmp_path):
    c = convert_text(tmp_path, """
        services:
          web:
            image: nginx
            deploy:
              placement: {constraints: ["node.labels.zone == a", "node.platform.os == linux",
                                        "node.role == manager"]}
    """)
    assert pod_spec(c, "Deployment", "web")["nodeSelector"] == {"zone": "a",
                                                                "kubernetes.io/os": "linux"}
    assert ("deploy.placement", "dropped",
            "'node.role == manager': only node.labels.* == and node.platform.* == have a "
            "nodeSelector form") in outcomes(c, "web")


@pytest.mark.parametrize("name, expected", [("Web_App", "web-app"), ("api.v2", "api-v2")])
def test_names_are_made_dns_labels(tmp_path, name, expected):
    c = convert_text(tmp_path, f"services: {{{name}: {{image: nginx}}}}")
    assert ("Deployment", expected) in objects(c)
    assert container(c, "Deployment", expected)["name"] == expected


def test_a_long_name_is_cut_and_hashed_stably(tmp_path):
    name = "a" * 70
    first = convert_text(tmp_path, f"services: {{{name}: {{image: nginx}}}}")
    workload = next(m for m in first.manifests if m.kind == "Deployment")
    assert len(workload.name) == 63 and workload.name.startswith("a" * 50)
    again = convert_text(tmp_path, f"services: {{{name}: {{image: nginx}}}}")
    assert next(m for m in again.manifests if m.kind == "Deployment").name == workload.name


def test_a_name_that_cannot_be_made_valid_is_an_error_naming_the_service(tmp_path):
    with pytest.raises(ComposeError, match="service '1st'"):
        convert_text(tmp_path, "services: {1st: {image: nginx}}")


def test_two_services_that_become_one_name_are_an_error(tmp_path):
    with pytest.raises(ComposeError, match="'my-db' and 'my_db' both become 'my-db'"):
        convert_text(tmp_path, "services: {my_db: {image: a}, my-db: {image: b}}")


def test_unknown_service_type_and_bad_namespace_are_errors():
    with pytest.raises(ComposeError, match="unknown --service-type 'Ingress'"):
        Options(service_type="Ingress")
    with pytest.raises(ComposeError, match="invalid namespace 'Prod'"):
        Options(namespace="Prod")
