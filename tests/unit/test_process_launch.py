"""Unit tests of how the process runtime builds an app's environment and argv.

Checks: defaults and precedence of the env (``PORT`` always the runtime's); ``$VAR`` and
``${VAR}`` expansion with shell semantics for unset names and no other interpretation;
resolution of a bare program through the app's own ``PATH``; refusal of empty or unknown
programs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kubidu.runtimes.process.launch import DEFAULT_PATH, LaunchError, app_argv, app_env, expand


def test_env_has_defaults_then_the_spec_then_port() -> None:
    env = app_env({"HOME": "/app", "PORT": "1", "X": "y"}, port=5000, home="/tmp/h")
    assert env == {
        "PATH": DEFAULT_PATH,
        "HOME": "/app",
        "PYTHONUNBUFFERED": "1",
        "X": "y",
        "PORT": "5000",
    }


def test_env_without_port_has_no_port() -> None:
    assert "PORT" not in app_env({}, port=None, home="/tmp/h")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.0.0.0:$PORT", "0.0.0.0:8080"),
        ("${NAME}-suffix", "web-suffix"),
        ("$NAMEsuffix", ""),
        ("$UNSET", ""),
        ("price: $5 and $", "price: $5 and $"),
        ("$(rm -rf /); `id`", "$(rm -rf /); `id`"),
    ],
)
def test_expand_follows_procfile_rules(value: str, expected: str) -> None:
    assert expand(value, {"PORT": "8080", "NAME": "web"}) == expected


def test_argv_resolves_bare_programs_through_the_app_path(tmp_path: Path) -> None:
    program = tmp_path / "serve"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    argv = app_argv(("serve", "--port", "$PORT"), {"PATH": str(tmp_path), "PORT": "9"})
    assert argv == [str(program), "--port", "9"]


def test_argv_keeps_paths_with_a_slash() -> None:
    assert app_argv(("./bin/web",), {"PATH": "/nowhere"}) == ["./bin/web"]


@pytest.mark.parametrize("command", [(), ("",), ("$EMPTY",), ("no-such-program-here",)])
def test_argv_rejects_what_cannot_start(command: tuple[str, ...]) -> None:
    with pytest.raises(LaunchError):
        app_argv(command, {"PATH": "/nowhere"})
