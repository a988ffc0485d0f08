"""How the CLI shows the service API's work: progress lines, log prefixes, templates,
sizes, and attached `up` on an in-memory backend."""
import io
import textwrap

import pytest
import typer

from common.units import human_duration
from compose import service
from compose.cli.formatting import cpu_percent, human_size, render_template
from compose.cli.output import Printer
from compose.cli.progress import Progress
from compose.events import DONE, FAILED, Note, Output, Step
from compose.load import LoadOptions, load_project
from tests.compose.fake_backend import FakeBackend


def test_progress_lines_without_a_terminal():
    stream = io.StringIO()
    shown = Progress(stream, tty=False, builds=False)
    shown(Step("Container", "demo-web-1", "Starting"))
    shown(Step("Container", "demo-web-1", "Started", DONE))
    shown(Step("Network", "demo_default", "Error: in use", FAILED))
    shown(Note("WARN something"))
    shown(Output("web", "Step 1/2"))  # a build's output: hidden when asked
    shown.close()
    assert stream.getvalue() == (" Container demo-web-1  Starting\n Container demo-web-1  Started\n"
                                 " Network demo_default  Error: in use\nWARN something\n")
    assert shown.lines[("Network", "demo_default")].failed


def test_progress_as_json_lines_and_in_dry_run_mode():
    """--progress json: one object per line, as docker compose writes them."""
    import json

    stream = io.StringIO()
    shown = Progress(stream, mode="json", dry_run=True)
    shown(Step("Container", "demo-web-1", "Started", DONE))
    shown(Step("Image", "redis", "Error", FAILED))
    shown(Note("WARN x"))
    shown(Output("web", "Step 1/2"))
    shown.close()
    assert [json.loads(line) for line in stream.getvalue().splitlines()] == [
        {"dry-run": True, "id": "Container demo-web-1", "status": "Done", "text": "Started"},
        {"dry-run": True, "id": "Image redis", "status": "Error", "text": "Error"},
        {"dry-run": True, "text": "WARN x"},
        {"dry-run": True, "id": "web", "text": "Step 1/2", "tail": True}]
    plain = io.StringIO()
    shown = Progress(plain, mode="plain", dry_run=True)
    shown(Step("Container", "demo-web-1", "Created"))
    quiet = io.StringIO()
    silent = Progress(quiet, mode="quiet")
    silent(Step("Container", "demo-web-1", "Created"))
    silent.note("nothing")
    assert plain.getvalue() == " DRY-RUN MODE - Container demo-web-1  Created\n"
    assert quiet.getvalue() == ""


def test_detach_keys():
    from compose.cli.terminal import _DetachKeys, parse_detach_keys

    assert parse_detach_keys("ctrl-p,ctrl-q") == b"\x10\x11"
    assert parse_detach_keys("a,ctrl-@") == b"a\x00"
    with pytest.raises(ValueError, match="invalid detach key 'ctrl-'"):
        parse_detach_keys("ctrl-")
    keys = _DetachKeys(b"\x10\x11")
    assert keys.feed(b"ls\x10") == (b"ls", False)  # held back: maybe the sequence
    assert keys.feed(b"x") == (b"\x10x", False)  # it was not
    assert keys.feed(b"\x10\x11") == (b"", True)


def test_past_events_come_from_the_runtime_s_event_log(tmp_path):
    """events --since: the project's container events as the runtime recorded them, those
    of removed containers too, other projects' and other objects' left out."""
    from compose.adapter import RuntimeBackend
    from compose.labels import PROJECT, SERVICE
    from runtime import eventlog

    root = tmp_path / "root"
    root.mkdir()
    ours = {"name": "demo-job-1", PROJECT: "demo", SERVICE: "job"}
    eventlog.record(root, "container", "create", "c1", ours)
    eventlog.record(root, "container", "die", "c1", {**ours, "exitCode": 3})
    eventlog.record(root, "container", "health_status: healthy", "c1", ours)
    eventlog.record(root, "container", "start", "c2", {"name": "x-web-1", PROJECT: "x"})
    eventlog.record(root, "network", "create", "n1", {"name": "demo_default"})
    eventlog.record(root, "container", "destroy", "c1", ours)
    past = RuntimeBackend({"BERTH_ROOT": str(root)}).history("demo", 0, None)
    assert [(p.cid, p.name, p.service, p.event["event"]) for p in past] == [
        ("c1", "demo-job-1", "job", "create"), ("c1", "demo-job-1", "job", "die"),
        ("c1", "demo-job-1", "job", "health_status"), ("c1", "demo-job-1", "job", "destroy")]
    assert past[1].event["exit_code"] == 3 and past[2].event["status"] == "healthy"
    assert RuntimeBackend({"BERTH_ROOT": str(root)}).history("demo", past[-1].event["time"] + 1,
                                                            None) == []


def test_log_prefixes_are_aligned_and_coloured_per_container():
    from compose.labels import NUMBER, SERVICE, ContainerInfo

    def c(service, number):
        return ContainerInfo(f"{service}{number}", f"demo-{service}-{number}",
                             {SERVICE: service, NUMBER: str(number)}, "running", None, None,
                             "x", "x", [], 0, 0, 0)

    stream = io.StringIO()
    printer = Printer([c("db", 1), c("frontend", 2)], color=False, timestamps=True, stream=stream)
    printer.line(c("db", 1), "ready\n", "2026-01-01T00:00:00Z")
    printer.line(c("frontend", 2), "up")
    assert stream.getvalue() == "db-1        | 2026-01-01T00:00:00Z ready\nfrontend-2  | up\n"
    coloured = io.StringIO()
    Printer([c("db", 1)], color=True, timestamps=False, stream=coloured).line(c("db", 1), "x")
    assert coloured.getvalue() == "\x1b[36mdb-1  | \x1b[0mx\n"


def test_format_templates():
    assert render_template("{{.Name}}\\t{{ .State }}", {"Name": "web", "State": "up"}) == "web\tup"
    with pytest.raises(typer.BadParameter, match="no field 'Nope'"):
        render_template("{{.Nope}}", {"Name": "web"})


def test_sizes_durations_and_cpu():
    assert [human_size(n) for n in (12, 1500, 2_500_000, 7e9)] == ["12B", "1.5kB", "2.5MB", "7GB"]
    assert [human_duration(s) for s in (0.4, 1, 59, 61, 7200, 86400 * 3)] == [
        "Less than a second", "1 second", "59 seconds", "1 minute", "2 hours", "3 days"]
    assert cpu_percent(2_500_000_000, 2_000_000_000, 1.0) == 50.0


def test_attached_up_aborts_on_the_first_exit_with_its_code(tmp_path, capsys):
    from compose.cli.up import follow_up

    (tmp_path / "compose.yaml").write_text(textwrap.dedent("""
        services:
          app: {image: busybox}
          tests: {image: busybox}
    """))
    project = load_project(LoadOptions(cwd=str(tmp_path), project_name="demo", environ={}))
    fake = FakeBackend().has_image("busybox").behave("tests", exit_code=3, output=["1 failed"])
    service.up(project, fake)
    code = follow_up(project, fake, ["app", "tests"], 0, timeout=None, abort="exit",
                     exit_code_from=None, attach=None, no_attach=None, timestamps=False,
                     color=False)
    assert code == 3
    assert "stop demo-app-1" in fake.changes()
    out = capsys.readouterr().out
    assert "tests-1  | 1 failed" in out and "demo-tests-1 exited with code 3" in out
