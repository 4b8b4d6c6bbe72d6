"""Root fixtures and hooks shared by every test directory.

What lives here:
* ``sys.path``: the repository root, so ``from tests.helpers... import ...`` works however
  pytest is started.
* Strict mode (CI, or ``KUBIDU_TEST_STRICT=1`` as set by ``scripts/test.sh``): every skip
  becomes a failure, at collection and at run time. Only a developer machine that lacks a
  dependency may skip tests.
* ``postgres_cluster`` (session): a throwaway PostgreSQL 15 cluster, started lazily by the
  first test that needs it and stopped at the end of the session.
* ``database_url``: parametrised over SQLite and PostgreSQL; a fresh, empty database per test
  as a SQLAlchemy URL. ``postgresql_url``: the same, PostgreSQL only.
* ``chromium_path``: where Chromium is, for Playwright tests.
* ``docker_engine`` (session): a reachable Docker Engine (``dockerd`` started when none runs,
  stopped at the end if started here) and the local base images (``tests/helpers/docker.py``).
* ``tmp_path`` (overrides pytest's): when running as root, the directory and its parents are
  made traversable (o+x) so apps, builds and databases running as unprivileged accounts can
  reach data dirs inside it. For ``tmp_path_factory.mktemp`` dirs call
  ``tests.helpers.tmp.make_traversable`` yourself.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from tests.helpers.server import KubiduServer, running_server

_ROOT = Path(__file__).resolve().parent.parent
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from tests.helpers.docker import BaseImages, DockerDaemon, base_images  # noqa: E402
from tests.helpers.postgres import PostgresCluster, find_bindir  # noqa: E402
from tests.helpers.strict import is_strict, missing_dependency  # noqa: E402
from tests.helpers.tmp import make_traversable  # noqa: E402

DEFAULT_CHROMIUM = "/usr/bin/chromium"


# -- strict mode: no skips in CI ------------------------------------------------------------


def _strict_message(reason: object) -> str:
    if isinstance(reason, tuple) and len(reason) == 3:
        reason = reason[2]
    return (
        "skipped, but skips are not allowed in strict mode (CI or KUBIDU_TEST_STRICT=1); "
        f"install the missing dependency instead. Skip reason: {reason}"
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.skipped and not hasattr(report, "wasxfail") and is_strict():
        report.outcome = "failed"
        report.longrepr = _strict_message(report.longrepr)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    report = yield
    if report.skipped and is_strict():
        report.outcome = "failed"
        report.longrepr = _strict_message(report.longrepr)
    return report


def pytest_report_header(config: pytest.Config) -> list[str]:
    chromium = os.environ.get("KUBIDU_TEST_CHROMIUM") or DEFAULT_CHROMIUM
    return [
        f"kubidu: strict mode {'ON (skips fail)' if is_strict() else 'off (skips allowed)'}",
        f"kubidu: postgresql binaries {find_bindir() or 'NOT FOUND'}; chromium {chromium}",
    ]


# -- temporary directories ------------------------------------------------------------------


@pytest.fixture
def tmp_path(tmp_path: Path) -> Path:
    """pytest's ``tmp_path``, reachable (not listable) by other accounts when run as root."""
    return make_traversable(tmp_path)


# -- databases ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A PostgreSQL 15 cluster on 127.0.0.1, started on first use, stopped at session end."""
    bindir = find_bindir()
    if bindir is None:
        missing_dependency(
            "PostgreSQL server binaries (initdb, pg_ctl) not found; "
            "run scripts/install-system-deps.sh or set KUBIDU_TEST_PG_BINDIR"
        )
    cluster = PostgresCluster.start(bindir=bindir)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def postgresql_url(postgres_cluster: PostgresCluster) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test, as a SQLAlchemy URL."""
    name = postgres_cluster.create_database()
    try:
        yield postgres_cluster.url(name)
    finally:
        postgres_cluster.drop_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database for this test (SQLite file, then PostgreSQL) as a SQLAlchemy URL.

    The PostgreSQL cluster starts only when the first ``[postgresql]`` test runs.
    """
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'kubidu.db'}"
    url: str = request.getfixturevalue("postgresql_url")
    return url


# -- browser --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Path of the Chromium binary ($KUBIDU_TEST_CHROMIUM or /usr/bin/chromium)."""
    path = os.environ.get("KUBIDU_TEST_CHROMIUM") or DEFAULT_CHROMIUM
    if not (Path(path).is_file() and os.access(path, os.X_OK)):
        missing_dependency(
            f"Chromium not found at {path}; run scripts/install-system-deps.sh "
            "(Debian package chromium) or set KUBIDU_TEST_CHROMIUM"
        )
    return path


# -- docker ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def docker_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BaseImages]:
    """Docker Engine up and the local base images built (nothing is pulled from a registry)."""
    daemon = DockerDaemon.ensure(tmp_path_factory.mktemp("dockerd"))
    try:
        yield base_images()
    finally:
        daemon.stop()


# -- a real control plane ------------------------------------------------------------------


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
    with running_server(home, database_url=database_url) as server:
        yield server
