import pytest

from compose.errors import ComposeError
from compose.yamlsrc import RESET, Override, parse_yaml


def test_yaml_1_2_scalars_like_compose():
    data, _ = parse_yaml("a: on\nb: yes\nc: 22:22\nd: 2024-01-01\ne: true\nf: 0o17\n"
                         "g: 017\nh: 1.5\ni: ~\nj: 0x1f\n", "f.yaml")
    assert data == {"a": "on", "b": "yes", "c": "22:22", "d": "2024-01-01", "e": True,
                    "f": 15, "g": 15, "h": 1.5, "i": None, "j": 31}


def test_leading_zero_integers_are_octal_as_go_yaml_reads_them():
    """compose-go (go-yaml) reads an unquoted `mode: 0440` as 0o440, not 440."""
    data, _ = parse_yaml("a: 0440\nb: -010\nc: 09\nd: 0\ne: 440\n", "f.yaml")
    assert data == {"a": 0o440, "b": -8, "c": 9.0, "d": 0, "e": 440}
    assert isinstance(data["c"], float)


def test_keys_stay_as_written():
    data, _ = parse_yaml("1: a\ntrue: b\n", "f.yaml")
    assert data == {"1": "a", "true": "b"}


def test_positions_per_path():
    text = "services:\n  web:\n    image: x\n    ports:\n      - 80\n      - 81\n"
    _, positions = parse_yaml(text, "f.yaml")
    assert positions[("services", "web", "image")] == (3, 5)
    assert positions[("services", "web", "ports", 1)] == (6, 9)


def test_anchors_and_merge_keys():
    text = ("x-base: &base\n  image: a\n  environment: {A: 1}\n"
            "services:\n  web:\n    <<: *base\n    image: b\n")
    data, _ = parse_yaml(text, "f.yaml")
    assert data["services"]["web"] == {"image": "b", "environment": {"A": 1}}


def test_reset_and_override_tags():
    data, _ = parse_yaml("a: !reset []\nb: !override [1]\nc: !override 5\n", "f.yaml")
    assert data["a"] is RESET
    assert data["b"] == Override([1]) and data["c"] == Override(5)


def test_duplicate_key_is_an_error_with_line():
    with pytest.raises(ComposeError) as err:
        parse_yaml("a: 1\nb: 2\na: 3\n", "f.yaml")
    assert err.value.line == 3 and "already defined at line 1" in str(err.value)


def test_syntax_error_has_file_line_and_column():
    with pytest.raises(ComposeError) as err:
        parse_yaml("services:\n  web:\n    image: [unclosed\n", "bad.yaml")
    assert str(err.value).startswith("bad.yaml:")
    assert err.value.line is not None and err.value.col is not None


def test_empty_document():
    assert parse_yaml("# nothing\n", "f.yaml") == (None, {})
