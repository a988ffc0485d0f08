"""Bad input: a YAML bomb, an overlong project name and odd cp paths get one clear line,
a non-zero exit and no traceback, quickly."""
import time

import pytest

LAUGHS = "".join(f"x-{b}: &{b} [{', '.join(['*' + a] * 9)}]\n"
                 for a, b in zip("abcdefgh", "bcdefghi"))
BOMB = ('x-a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n' + LAUGHS +
        "services:\n  web:\n    image: busybox\n    environment: *i\n")


def one_line(proc) -> str:
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_a_yaml_bomb_is_refused_at_once(tmp_path, berth):
    (tmp_path / "compose.yaml").write_text(BOMB)
    started = time.monotonic()
    line = one_line(berth("config", cwd=tmp_path))
    assert time.monotonic() - started < 10
    assert "compose.yaml:1" in line and "excessive aliasing" in line


def test_anchors_used_as_intended_still_load(tmp_path, berth):
    common = "x-env: &env {A: '1', B: '2', C: '3'}\nservices:\n" + "".join(
        f"  s{i}:\n    image: busybox\n    environment: *env\n" for i in range(300))
    (tmp_path / "compose.yaml").write_text(common)
    out = berth("config", "--services", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert set(out.stdout.split()) == {f"s{i}" for i in range(300)}


@pytest.mark.parametrize("command", [["config"], ["up", "-d"], ["down"], ["ps"]])
def test_an_overlong_project_name_is_one_line(tmp_path, berth, command):
    (tmp_path / "compose.yaml").write_text("services: {web: {image: busybox}}\n")
    line = one_line(berth("-p", "a" * 300, *command, cwd=tmp_path,
                          env={"BERTH_ROOT": str(tmp_path / "root")}))
    assert "project name" in line and "at most 63" in line
