"""Strict mode: in CI a missing dependency fails the run instead of skipping tests.

Strict mode is on when ``KUBIDU_TEST_STRICT=1`` (set by ``scripts/test.sh``) or when ``CI`` is
set to anything but ``""``, ``0`` or ``false``. On a developer machine, tests may skip when
something they need (Chromium, PostgreSQL, Docker...) is absent; in strict mode
:func:`missing_dependency` fails instead, and ``tests/conftest.py`` turns every other skip
into a failure too.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

_FALSE = {"", "0", "false", "no"}


def is_strict() -> bool:
    """True when skips are not allowed (CI, or ``scripts/test.sh``)."""
    if os.environ.get("KUBIDU_TEST_STRICT", "").strip().lower() not in _FALSE:
        return True
    return os.environ.get("CI", "").strip().lower() not in _FALSE


def missing_dependency(reason: str) -> NoReturn:
    """Skip the current test on a developer machine; fail it in strict mode."""
    if is_strict():
        pytest.fail(f"missing test dependency (strict mode, skips not allowed): {reason}")
    pytest.skip(reason)
