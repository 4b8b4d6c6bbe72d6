"""Fixtures of the end-to-end tests: a real control plane with a real Caddy edge."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.server import KubiduServer


@pytest.fixture
def kubidu_server(tmp_path: Path) -> Iterator[KubiduServer]:
    """A started ``kubidu server`` on SQLite in its own data dir; everything killed after."""
    home = tmp_path / "home"
    home.mkdir()
    server = KubiduServer(data_dir=tmp_path / "data", home=home)
    try:
        server.start()
        yield server
    finally:
        server.cleanup()
