import pytest

from compose.dotenv import DotenvError, parse_dotenv

from tests.helpers import CORPUS, require_shared

require_shared()

FIXTURES = CORPUS / "compose-go" / "dotenv" / "fixtures"


def fixture(name, lookup=lambda _: None):
    return parse_dotenv((FIXTURES / name).read_text(encoding="utf-8"), lookup)


def test_plain():
    assert fixture("plain.env") == {
        "OPTION_A": "1", "OPTION_B": "2", "OPTION_C": "3", "OPTION_D": "4", "OPTION_E": "5",
        "456": "ABC", "OPTION_F": "", "OPTION_G": "", "OPTION_H": "my string"}


def test_utf8_bom_is_ignored():
    assert fixture("utf8-bom.env")["OPTION_A"] == "1"


def test_quoted():
    values = fixture("quoted.env")
    assert values["OPTION_A"] == "1"
    assert values["OPTION_C"] == ""
    assert values["OPTION_D"] == "\\n"  # single quotes are literal
    assert values["OPTION_H"] == "\n"  # double quotes process escapes
    assert values["OPTION_I"] == "echo 'asd'"
    assert values["OPTION_J"] == "first line\nsecond line\nthird line\nand so on"
    assert values["OPTION_K"] == "Let's go!"
    assert values["OPTION_Z"] == "last value"


def test_exported_and_equals():
    assert fixture("exported.env") == {"OPTION_A": "2", "OPTION_B": "\\n"}
    assert fixture("equals.env") == {
        "OPTION_A": "postgres://localhost:5432/database?sslmode=disable"}


def test_unquoted_and_special_keys():
    values = fixture("unquoted.env")
    assert values["OPTION_A"] == "some quoted phrase"
    assert values["OPTION_C"] == "then another one with an unquoted phrase"
    assert values["OPTION_D"].endswith("special \u00e8 char")
    assert fixture("special.env") == {"VAR.WITH.DOTS": "dots",
                                      "VAR_WITH_UNDERSCORES": "underscores",
                                      "VAR-WITH-DASHES": "dashes"}


def test_colon_delimiter():
    assert fixture("custom.format") == {"FOO": "BAR", "ZOT": "QIX"}


def test_substitutions():
    assert fixture("substitutions.env") == {
        "OPTION_A": "1", "OPTION_B": "1", "OPTION_C": "1", "OPTION_D": "1_1", "OPTION_E": ""}
    values = fixture("substitutions-default.env", {"OPTION_A": "env"}.get)
    assert values["OPTION_A"] == "env" and values["OPTION_D"] == "env_env"


def test_inherited():
    env = {"VAR_TO_BE_LOADED_FROM_OS_ENV": "os"}.get
    assert fixture("inherited-single-var.env", env) == {"VAR_TO_BE_LOADED_FROM_OS_ENV": "os"}
    assert fixture("inherited-multi-var.env", env) == {
        "foo": "bar", "VAR_TO_BE_LOADED_FROM_OS_ENV": "os", "bar": "baz"}
    assert fixture("inherited-not-found.env") == {}


def test_invalid_line_names_the_line():
    with pytest.raises(DotenvError) as err:
        fixture("invalid1.env")
    assert err.value.line == 7


def test_single_quotes_are_not_interpolated_but_double_are():
    text = "A=x\nB='$A'\nC=\"$A\\t\"\nD=$A # comment\nE=$A# not\n"
    assert parse_dotenv(text) == {"A": "x", "B": "$A", "C": "x\t", "D": "x", "E": "x# not"}


def test_unterminated_quote():
    with pytest.raises(DotenvError, match="unterminated"):
        parse_dotenv("A='oops\nB=1\n")
