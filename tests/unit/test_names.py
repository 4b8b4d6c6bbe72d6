"""Naming rules of ``kubidu.core.names``.

Checks:
* valid project/service names: single letters, digits, single hyphens, up to 40 characters;
* invalid names: empty, uppercase, leading digit or hyphen, trailing hyphen, double hyphen,
  too long, characters outside ``[a-z0-9-]``; the error names the kind of object;
* env var keys: POSIX-style, ``PORT`` and ``KUBIDU_*`` reserved, length cap;
* env var values: NUL bytes and values over the byte cap are refused (counted in UTF-8 bytes);
* property: every accepted name is a valid DNS label.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kubidu.core.errors import InvalidInput
from kubidu.core.names import (
    MAX_ENV_VALUE_BYTES,
    validate_env_key,
    validate_env_value,
    validate_name,
)

DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


@pytest.mark.parametrize("name", ["a", "ab", "web", "my-app", "api2", "a-b-c", "x" * 40, "a1"])
def test_valid_names_are_returned(name: str) -> None:
    assert validate_name(name, kind="project") == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "A",
        "MyApp",
        "1app",
        "-app",
        "app-",
        "my--app",
        "my_app",
        "my.app",
        "my app",
        "x" * 41,
        "ünï",
    ],
)
def test_invalid_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidInput):
        validate_name(name, kind="service")


def test_error_names_the_kind_and_value() -> None:
    with pytest.raises(InvalidInput) as excinfo:
        validate_name("Bad", kind="environment")
    assert "environment" in excinfo.value.message
    assert "'Bad'" in excinfo.value.message
    assert excinfo.value.status_code == 422


@pytest.mark.parametrize("value", ["app\n"])
def test_trailing_newline_is_refused(value: str) -> None:
    with pytest.raises(InvalidInput):
        validate_name(value, kind="service")
    with pytest.raises(InvalidInput):
        validate_env_key(value.upper())


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.A", max_size=45))
def test_every_accepted_name_is_a_dns_label(name: str) -> None:
    try:
        validate_name(name, kind="project")
    except InvalidInput:
        return
    assert DNS_LABEL.match(name)
    assert name[0].isalpha() and "--" not in name and len(name) <= 40


@pytest.mark.parametrize("key", ["A", "DATABASE_URL", "_private", "lower_ok", "X" * 128])
def test_valid_env_keys(key: str) -> None:
    assert validate_env_key(key) == key


@pytest.mark.parametrize("key", ["", "1ABC", "A-B", "A B", "A=B", "X" * 129, "ÄPFEL"])
def test_invalid_env_keys(key: str) -> None:
    with pytest.raises(InvalidInput, match="invalid env var name"):
        validate_env_key(key)


@pytest.mark.parametrize("key", ["PORT", "KUBIDU_TOKEN", "KUBIDU_"])
def test_reserved_env_keys(key: str) -> None:
    with pytest.raises(InvalidInput, match="set by the platform"):
        validate_env_key(key)


def test_env_value_accepts_text_up_to_the_cap() -> None:
    assert validate_env_value("K", "") == ""
    value = "x" * MAX_ENV_VALUE_BYTES
    assert validate_env_value("K", value) == value


def test_env_value_refuses_nul() -> None:
    with pytest.raises(InvalidInput, match="NUL"):
        validate_env_value("K", "a\x00b")


def test_env_value_cap_counts_utf8_bytes() -> None:
    over = "é" * (MAX_ENV_VALUE_BYTES // 2 + 1)  # fewer characters than the cap, more bytes
    assert len(over) < MAX_ENV_VALUE_BYTES
    with pytest.raises(InvalidInput, match="longer than"):
        validate_env_value("K", over)
