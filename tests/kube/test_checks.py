"""berth's own checks catch what the schemas let through."""
import copy

from compose.kube import checks
from compose.kube.model import Manifest
from tests.kube.support import convert_text


def _manifests(tmp_path):
    return list(convert_text(tmp_path, """
        services:
          db: {image: postgres, volumes: [data:/data], expose: ["5432"]}
        volumes: {data: {}}
    """).manifests)


def _replace(manifests, kind, change):
    out = []
    for m in manifests:
        if m.kind == kind:
            body = copy.deepcopy(dict(m.body))
            change(body)
            m = Manifest(m.kind, body["metadata"]["name"], body, m.service)
        out.append(m)
    return out


def test_a_conversion_passes(tmp_path):
    assert checks.problems(_manifests(tmp_path)) == []


def test_a_deployment_that_does_not_always_restart(tmp_path):
    def never(body):
        body["spec"]["template"]["spec"]["restartPolicy"] = "Never"
    assert checks.problems(_replace(_manifests(tmp_path), "Deployment", never)) == \
        ["Deployment db: restartPolicy Never"]


def test_an_exclusive_claim_shared_by_replicas(tmp_path):
    def scale(body):
        body["spec"]["replicas"] = 2
    assert checks.problems(_replace(_manifests(tmp_path), "Deployment", scale)) == \
        ["PersistentVolumeClaim data is ReadWriteOnce but 2 pods mount it"]


def test_selectors_that_miss_their_pods(tmp_path):
    def relabel(body):
        body["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"] = "other"
    assert sorted(checks.problems(_replace(_manifests(tmp_path), "Deployment", relabel))) == [
        "Deployment db: its selector does not match its pods' labels",
        "Service db: its selector matches no pods"]


def test_invalid_names_and_labels(tmp_path):
    def rename(body):
        body["metadata"]["name"] = "9db"
        body["metadata"]["labels"]["bad key!"] = "x"
    assert checks.problems(_replace(_manifests(tmp_path), "Service", rename)) == [
        "Service 9db: not a valid name", "Service 9db: invalid label bad key!=x"]


def test_a_mount_of_no_volume_and_a_name_used_twice(tmp_path):
    manifests = _manifests(tmp_path)
    def unmount(body):
        del body["spec"]["template"]["spec"]["volumes"]
    assert checks.problems(_replace(manifests, "Deployment", unmount)) == \
        ["Deployment db: mount of unknown volume vol-data"]
    service = next(m for m in manifests if m.kind == "Service")
    assert checks.problems(manifests + [service]) == ["two Service objects are named db"]
