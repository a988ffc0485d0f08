import pytest

from compose.template import TemplateError, Variable, substitute, variables

ENV = {"FOO": "first", "BAR": ""}.get


@pytest.mark.parametrize("text, expected", [
    ("plain", "plain"),
    ("$FOO", "first"),
    ("${FOO}", "first"),
    ("$FOO-bar", "first-bar"),
    ("a ${missing} b", "a  b"),
    ("${BAR}", ""),
    ("${missing:-def}", "def"),
    ("${missing-def}", "def"),
    ("${BAR:-def}", "def"),
    ("${BAR-def}", ""),
    ("${FOO:-def}", "first"),
    ("${BAR:-/non:-alphanumeric}", "/non:-alphanumeric"),
    ("${missing-$FOO}", "first"),
    ("${missing-${FOO}}", "first"),
    ("${missing-${FOO} ${FOO}}", "first first"),
    ("${BAR:-${missing:-${FOO}}}", "first"),
    ("${FOO:+alt}", "alt"),
    ("${BAR:+alt}", ""),
    ("${BAR+alt}", "alt"),
    ("${missing+alt}", ""),
    ("${FOO?err}", "first"),
    ("${BAR?err}", ""),
    ("$${FOO}", "${FOO}"),
    ("$$FOO", "$FOO"),
    ("cost: $$5", "cost: $5"),
    ("${missing-a$$b}", "a$b"),
    ("${missing-myerror?msg}", "myerror?msg"),
])
def test_substitute(text, expected):
    assert substitute(text, ENV) == expected


@pytest.mark.parametrize("text", ["${", "$}", "${}", "${ }", "${ foo}", "${foo }", "${foo!}", "a $ b", "$1"])
def test_invalid_templates(text):
    with pytest.raises(TemplateError, match="invalid template"):
        substitute(text, ENV)


@pytest.mark.parametrize("text, message", [
    ("${UNSET:?Mandatory ${FOO}}", "required variable UNSET is missing a value: Mandatory first"),
    ("${BAR:?empty}", "required variable BAR is missing a value: empty"),
    ("${UNSET:?}", "required variable UNSET is missing a value"),
    ("${UNSET?bar-baz}", "required variable UNSET is missing a value: bar-baz"),
])
def test_required(text, message):
    with pytest.raises(TemplateError) as err:
        substitute(text, ENV)
    assert str(err.value) == message


def test_the_variables_a_template_uses():
    """`config --variables`: required ones, defaults and alternate values, nested too;
    `$$` is no variable."""
    assert variables("${A:-x} $B ${C:?why} ${D+${E-1}} $$F ${G}") == [
        Variable("A", default="x"), Variable("B"), Variable("C", required=True),
        Variable("D", alternate="${E-1}"), Variable("E", default="1"), Variable("G")]
    assert variables("no templates") == [] and variables("${unclosed") == []
