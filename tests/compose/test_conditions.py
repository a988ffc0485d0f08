"""depends_on conditions judged on a container's state, and the reasons given."""
from compose.conditions import COMPLETED, HEALTHY, STARTED, failure, judge
from compose.labels import ContainerInfo


def info(status="running", exit_code=None, health=None, error=""):
    return ContainerInfo("c1", "demo-db-1", {}, status, exit_code, health, "x", "sha256:x", [],
                         0, 0, 0, error=error)


def test_started():
    assert judge(info(), STARTED) is True
    assert judge(info("created"), STARTED) is None
    assert judge(info("exited", 0), STARTED) is False


def test_healthy():
    assert judge(info(health="healthy"), HEALTHY) is True
    assert judge(info(health="starting"), HEALTHY) is None
    assert judge(info(health="unhealthy"), HEALTHY) is False
    assert judge(info(), HEALTHY) is False  # no healthcheck: it never will be


def test_completed_successfully():
    assert judge(info("exited", 0), COMPLETED) is True
    assert judge(info("exited", 2), COMPLETED) is False
    assert judge(info(), COMPLETED) is None  # still running


def test_failures_say_why():
    assert failure(info(), HEALTHY) == ("container demo-db-1 has no healthcheck, so it can "
                                        "never be healthy")
    assert failure(info(health="unhealthy"), HEALTHY) == "container demo-db-1 is unhealthy"
    assert failure(info("exited", 2), COMPLETED) == "container demo-db-1 exited with code 2"
    assert failure(info("exited", 125, error='exec: "x": not found'), STARTED) == (
        'container demo-db-1 exited with code 125: exec: "x": not found')
