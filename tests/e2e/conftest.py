"""Fixtures of the end-to-end tests: a real control plane with a real Caddy edge."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.server import KubiduServer


@pytest.fixture
def kubidu_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KubiduServer]:
    """A started ``kubidu server`` in its own data dir; everything killed after.

    SQLite by default; parametrise indirectly with ``"postgresql"`` for a fresh database on
    the throwaway PostgreSQL cluster.
    """
    home = tmp_path / "home"
    home.mkdir()
    database_url = None
    if getattr(request, "param", "sqlite") == "postgresql":
        database_url = request.getfixturevalue("postgresql_url")
    server = KubiduServer(data_dir=traversable_dir() / "data", home=home, database_url=database_url)
    try:
        server.start()
        yield server
    finally:
        server.cleanup()
        shutil.rmtree(server.data_dir.parent, ignore_errors=True)


def traversable_dir() -> Path:
    """A fresh dir whose ancestors other users may traverse (pytest's tmp_path is 0700),
    as the team accounts that run apps need to reach their releases."""
    path = Path(tempfile.mkdtemp(prefix="kubidu-e2e-", dir="/tmp"))
    path.chmod(0o711)
    return path
