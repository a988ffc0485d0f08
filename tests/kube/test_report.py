"""The conversion report: every key of every service, mapped, approximated or dropped."""
import json

from compose.kube.report import DEPLOY_KEYS, KEYS, Notes, service_report
from tests.helpers import REPO
from tests.kube.support import convert_text, outcomes


def test_every_key_of_the_compose_spec_has_an_outcome():
    schema = json.loads((REPO / "schemas" / "compose.schema.json").read_text())["definitions"]
    assert set(KEYS) == set(schema["service"]["properties"])
    assert set(DEPLOY_KEYS) == {f"deploy.{k}" for k in schema["deploy"]["properties"]}


def test_keys_the_converter_does_not_note_take_their_outcome_from_the_table():
    notes = Notes()
    notes.mapped("image", "nginx")
    report = service_report("web", "Deployment", "web",
                            {"image": "nginx", "ulimits": {}, "x-mine": 1,
                             "deploy": {"replicas": 2, "update_config": {}}}, notes)
    assert [(o.key, o.outcome) for o in report.outcomes] == [
        ("image", "mapped"), ("ulimits", "dropped"), ("x-mine", "dropped"),
        ("deploy.replicas", "mapped"), ("deploy.update_config", "dropped")]


def test_report_and_summary(tmp_path):
    c = convert_text(tmp_path, """
        services:
          web: {image: nginx, ulimits: {nofile: 1024}, stop_signal: SIGINT, ports: ["80"]}
          tool: {image: t, profiles: [debug]}
    """)
    assert outcomes(c, "web") == [
        ("image", "mapped", "nginx"),
        ("ulimits", "dropped", "Kubernetes has no per-pod setting for it"),
        ("stop_signal", "dropped", "Kubernetes stops containers with SIGTERM"),
        ("ports", "mapped", "Service web (ClusterIP)"),
        ("ports", "approximated", "(any):80 -> Service web-published (ClusterIP): inside the "
                                  "cluster only (use --service-type LoadBalancer or NodePort to "
                                  "expose it)")]
    assert c.report.counts() == {"mapped": 1, "approximated": 1, "dropped": 2}
    summary = c.report.summary()
    assert summary[0] == "1 services -> 5 objects: 1 keys mapped, 1 approximated, 2 dropped"
    assert "  services.tool: dropped: not converted: its profiles are not active" in summary
    text = c.report.markdown()
    assert "## web (Deployment web)" in text
    assert "| ulimits | dropped | Kubernetes has no per-pod setting for it |" in text
