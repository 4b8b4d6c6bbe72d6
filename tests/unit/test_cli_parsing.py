"""Pure parsers of the CLI (kubidu.cli.parsing).

Aspects checked:
* durations: s/m/h/d units, combinations, bare seconds, and clear usage errors otherwise;
* KEY=VALUE: values may contain '=' or be empty; a missing '=' or key is a usage error (exit 2);
* default project names derived from directory names are valid API names.
"""

import re

import pytest

from kubidu.cli.errors import EXIT_USAGE, UsageError
from kubidu.cli.parsing import name_from_directory, parse_assignments, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("15m", 900), ("1h", 3600), ("2d", 172800), ("1h30m", 5400), ("90", 90)],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "h", "5x", "1.5h", "-1m", "1 h", "m5"])
def test_invalid_durations(text: str) -> None:
    with pytest.raises(UsageError, match="invalid duration") as info:
        parse_duration(text)
    assert info.value.exit_code == EXIT_USAGE


def test_assignments() -> None:
    assert parse_assignments(["A=1", "B=x=y", "C=", "A=2"]) == {"A": "2", "B": "x=y", "C": ""}


@pytest.mark.parametrize("arg", ["NOEQUALS", "=value", " A=1"])
def test_malformed_assignment(arg: str) -> None:
    with pytest.raises(UsageError, match="expected KEY=VALUE"):
        parse_assignments(["OK=1", arg])


@pytest.mark.parametrize(
    ("dirname", "expected"),
    [
        ("my-app", "my-app"),
        ("My_Cool App", "my-cool-app"),
        ("2048", "app-2048"),
        ("---", "app"),
        ("x" * 60, "x" * 40),
        ("ä.b", "b"),
    ],
)
def test_name_from_directory(dirname: str, expected: str) -> None:
    name = name_from_directory(dirname)
    assert name == expected
    assert re.fullmatch(r"[a-z][a-z0-9-]{0,39}", name) and not name.endswith("-")
