"""pull_policy (compose.pullpolicy): when an image is pulled, as text in, decision out;
and through `up` on the fake backend, with the last pull it records."""
import textwrap

import pytest

from compose import service
from compose.errors import ComposeError
from compose.load import LoadOptions, load_project
from compose.pullpolicy import PolicyError, PullPolicy, interval, parse
from tests.compose.fake_backend import FakeBackend

DAY = 86400.0


@pytest.mark.parametrize("written, refresh_after, expected", [
    (None, None, PullPolicy("missing")),
    ("if_not_present", None, PullPolicy("missing")),
    ("always", None, PullPolicy("always")),
    ("never", None, PullPolicy("never")),
    ("build", None, PullPolicy("build")),
    ("daily", None, PullPolicy("refresh", DAY)),
    ("weekly", None, PullPolicy("refresh", 7 * DAY)),
    ("every_12h", None, PullPolicy("refresh", 12 * 3600.0)),
    ("every_1w2d30m", None, PullPolicy("refresh", 9 * DAY + 1800)),
    ("refresh", None, PullPolicy("refresh")),
    ("refresh", "6h", PullPolicy("refresh", 6 * 3600.0)),
])
def test_policies(written, refresh_after, expected):
    assert parse(written, refresh_after) == expected


@pytest.mark.parametrize("written, refresh_after, key", [
    ("every_", None, "pull_policy"), ("every_5", None, "pull_policy"),
    ("hourly", None, "pull_policy"), ("always", "1h", "pull_refresh_after"),
    ("refresh", "soon", "pull_refresh_after"),
])
def test_what_is_no_policy(written, refresh_after, key):
    with pytest.raises(PolicyError) as err:
        parse(written, refresh_after)
    assert err.value.key == key


def test_intervals():
    assert interval("90s") == 90 and interval("1h30m") == 5400
    with pytest.raises(ValueError):
        interval("1.5h")


@pytest.mark.parametrize("policy, present, last, now, wanted", [
    (PullPolicy("missing"), True, None, 0, False),
    (PullPolicy("missing"), False, None, 0, True),
    (PullPolicy("always"), True, 100, 100, True),
    (PullPolicy("never"), False, None, 0, False),
    (PullPolicy("build"), False, None, 0, False),
    (PullPolicy("refresh", DAY), True, 1000, 1000 + DAY - 1, False),
    (PullPolicy("refresh", DAY), True, 1000, 1000 + DAY, True),
    (PullPolicy("refresh", DAY), True, None, 5, True),  # never pulled by berth: pulled now
    (PullPolicy("refresh", DAY), False, 1000, 1001, True),  # removed since: pulled again
    (PullPolicy("refresh"), True, 1000, 1001, True),
])
def test_when_to_pull(policy, present, last, now, wanted):
    assert policy.pull_wanted(present, last, now) is wanted


def load(tmp_path, text):
    (tmp_path / "compose.yaml").write_text(textwrap.dedent(text))
    return load_project(LoadOptions(cwd=str(tmp_path), project_name="demo", environ={}))


def test_a_daily_image_is_pulled_again_once_a_day_is_over(tmp_path):
    fake = FakeBackend().has_image("redis")
    project = load(tmp_path, "services: {cache: {image: redis, pull_policy: daily}}")
    fake.pulled["redis"] = 0.0  # long ago
    service.up(project, fake)
    assert fake.changes("pull") == ["pull redis"]
    fake.calls.clear()
    service.up(project, fake)  # just pulled: not again
    assert fake.changes("pull") == []


def test_never_with_a_missing_image_names_the_service(tmp_path):
    project = load(tmp_path, "services: {cache: {image: redis, pull_policy: never}}")
    with pytest.raises(ComposeError, match="service 'cache': image redis is not present "
                                           r"\(pull policy 'never'\)"):
        service.up(project, FakeBackend())


def test_the_images_of_hooks_and_image_mounts_are_pulled_when_missing(tmp_path):
    fake = FakeBackend().has_image("busybox")
    project = load(tmp_path, """
        services:
          app:
            image: busybox
            pre_start: [{image: "migrate:1"}]
            volumes: [{type: image, source: "models:2", target: /models}]
    """)
    service.up(project, fake)
    assert sorted(fake.changes("pull")) == ["pull migrate:1", "pull models:2"]
    assert "pull busybox" not in fake.changes()
