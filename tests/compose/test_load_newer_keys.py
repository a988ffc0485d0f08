"""The compose keys of 2025-2026 as the loader reads them: pre_start hooks, image mounts,
pull policies, restart policies, device reservations, file modes, raw env files; and the
one-line errors of impossible combinations."""
import textwrap

import pytest

from compose.errors import ComposeError
from compose.load import LoadOptions, load_project
from compose.model import DeviceRequest, Hook


def load(tmp_path, text, environ=None):
    (tmp_path / "compose.yaml").write_text(textwrap.dedent(text))
    return load_project(LoadOptions(cwd=str(tmp_path), project_name="demo",
                                    environ=environ or {}))


def test_pre_start_hooks(tmp_path):
    svc = load(tmp_path, """
        services:
          app:
            image: busybox
            pre_start:
              - command: sh -c 'echo migrate'
                environment: [STEP=1]
                user: "1000"
              - image: migrator:1
    """).services["app"]
    assert svc.pre_start == (
        Hook(command=("sh", "-c", "echo migrate"), user="1000", environment={"STEP": "1"}),
        Hook(command=(), image="migrator:1"))
    assert "pre_start" in svc.__slots__ and svc.post_start == ()


def test_image_mounts_are_read_only_with_a_subpath(tmp_path):
    [mount] = load(tmp_path, """
        services:
          app:
            image: busybox
            volumes: [{type: image, source: "models:1", target: /models, image: {subpath: v2}}]
    """).services["app"].volumes
    assert (mount.type, mount.source, mount.target, mount.subpath, mount.read_only) == (
        "image", "models:1", "/models", "v2", True)


@pytest.mark.parametrize("keys, policy, delay, window", [
    ("restart: on-failure:3", "on-failure:3", None, None),
    ("restart: always", "always", None, None),
    ("deploy: {restart_policy: {condition: on-failure, max_attempts: 5, delay: 2s, window: 1m}}",
     "on-failure:5", 2.0, 60.0),
    ("deploy: {restart_policy: {max_attempts: 2}}", "always:2", None, None),  # spec: any
    ("deploy: {restart_policy: {condition: none}}", "no", None, None),
    # deploy wins over restart, as in docker compose
    ("restart: always, deploy: {restart_policy: {condition: on-failure}}", "on-failure",
     None, None),
])
def test_restart_policies(tmp_path, keys, policy, delay, window):
    svc = load(tmp_path, f"services: {{app: {{image: busybox, {keys}}}}}").services["app"]
    assert (svc.restart, svc.restart_delay, svc.restart_window) == (policy, delay, window)


def test_gpus_and_device_reservations(tmp_path):
    svc = load(tmp_path, """
        services:
          app:
            image: busybox
            gpus: [{driver: nvidia, count: 2}]
            deploy:
              resources:
                reservations:
                  devices:
                    - {capabilities: [gpu], device_ids: ["0", "3"]}
                    - {capabilities: [gpu], count: all}
    """).services["app"]
    assert svc.device_requests == (
        DeviceRequest(("gpu",), device_ids=("0", "3")), DeviceRequest(("gpu",), count=None),
        DeviceRequest(("gpu",), driver="nvidia", count=2))
    assert load(tmp_path, "services: {app: {image: x, gpus: all}}").services[
        "app"].device_requests == (DeviceRequest(("gpu",)),)


@pytest.mark.parametrize("written", ["0440", "0o440", '"0440"', "288"])
def test_an_unquoted_leading_zero_mode_is_octal_as_in_compose(tmp_path, written):
    """compose-go (go-yaml) reads `mode: 0440` as 0o440 (288), not as 440."""
    svc = load(tmp_path, f"""
        services:
          app:
            image: busybox
            secrets: [{{source: token, mode: {written}}}]
            configs: [{{source: conf, mode: {written}}}]
        secrets: {{token: {{environment: T}}}}
        configs: {{conf: {{content: hi}}}}
    """).services["app"]
    assert svc.secrets[0].mode == 0o440 and svc.configs[0].mode == 0o440


def test_env_file_raw_format_and_optional_files(tmp_path):
    (tmp_path / "raw.env").write_text("A='quoted $HOME'\nB=${X}\n")
    svc = load(tmp_path, """
        services:
          app:
            image: busybox
            env_file: [{path: raw.env, format: raw}, {path: missing.env, required: false}]
    """, environ={"X": "x"}).services["app"]
    assert svc.environment == {"A": "'quoted $HOME'", "B": "${X}"}


def test_pull_policies_are_accepted(tmp_path):
    for policy in ("always", "never", "missing", "if_not_present", "build", "daily", "weekly",
                   "every_12h", "every_1w2d", "refresh"):
        svc = load(tmp_path, f"services: {{app: {{image: x, pull_policy: {policy}}}}}")
        assert svc.services["app"].pull_policy == policy
    svc = load(tmp_path, "services: {app: {image: x, pull_policy: refresh, "
                         "pull_refresh_after: 6h}}").services["app"]
    assert svc.pull_refresh_after == "6h"


@pytest.mark.parametrize("body, path, message", [
    ("pull_policy: every_", "services.app.pull_policy", "every_ needs a duration"),
    ("pull_policy: every_12x", "services.app.pull_policy", "every_ needs a duration"),
    ("pull_policy: sometimes", "services.app.pull_policy", "invalid pull_policy 'sometimes'"),
    ("pull_refresh_after: 1d", "services.app.pull_refresh_after",
     "only used with pull_policy: refresh"),
    ("pre_start: [{user: root}]", "services.app.pre_start[0]", "needs a 'command'"),
    ("pre_start: [{command: x, per_replica: true}]", "services.app.pre_start[0].per_replica",
     "per_replica is not supported"),
    ("pre_start: [{comand: x}]", "services.app.pre_start[0].comand", "unknown key 'comand'"),
    ("pre_start: {command: x}", "services.app.pre_start", "must be a list"),
    ("volumes: [{type: image, target: /m}]", "services.app.volumes[0]",
     "an image mount needs a source image"),
    ("volumes: [{type: image, source: x, target: /m, read_only: false}]",
     "services.app.volumes[0].read_only", "always read-only"),
    ("volumes: [{type: image, source: x, target: /m, image: {subpath: ../etc}}]",
     "services.app.volumes[0].image.subpath", "relative path inside the image"),
    ("deploy: {restart_policy: {condition: sometimes}}",
     "services.app.deploy.restart_policy.condition", "invalid condition 'sometimes'"),
    ("deploy: {restart_policy: {delay: soon}}", "services.app.deploy.restart_policy.delay",
     "invalid duration"),
    ("gpus: [{count: 1, device_ids: ['0']}]", "services.app.gpus[0]",
     "'count' and 'device_ids' cannot be used together"),
    ("restart: on-failure:x", "services.app.restart", "invalid restart policy"),
])
def test_bad_input_is_one_line_naming_file_service_key_and_line(tmp_path, body, path, message):
    (tmp_path / "compose.yaml").write_text(f"services:\n  app:\n    image: busybox\n    {body}\n")
    with pytest.raises(ComposeError) as err:
        load_project(LoadOptions(cwd=str(tmp_path), project_name="demo", environ={}))
    text = str(err.value)
    assert "\n" not in text
    assert text.startswith(f"{tmp_path / 'compose.yaml'}:4:"), text
    assert path in text and message in text, text
