"""The database log store on SQLite (FTS5 trigram) and PostgreSQL (pg_trgm).

Checks: search by substring in any case, also for short patterns and for characters that mean
something to LIKE or FTS5 (%, _, quotes); filters by deployment, replica, stream and time;
without a cursor the newest lines come back (oldest first), with one the next page; where a
restarted shipper resumes per replica; retention by age and by a per-service cap.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from kubidu.logs.db import DatabaseLogStore
from kubidu.logs.model import LogQuery, LogRecord
from kubidu.store.db import Database

T0 = datetime(2026, 1, 1, tzinfo=UTC)
LINES = ["Hello World", "100% done_ok", 'say "hi"', "error: disk full", "ok"]


@pytest.fixture
def store(database_url: str) -> Iterator[DatabaseLogStore]:
    db = Database(database_url)
    db.migrate()
    store = DatabaseLogStore(db=db)
    store.append(
        [
            LogRecord(
                service_id="svc",
                at=T0 + timedelta(seconds=n),
                line=line,
                stream="stderr" if "error" in line else "stdout",
                deployment_id="d1" if n < 3 else "d2",
                replica=f"r{n % 2}",
            )
            for n, line in enumerate(LINES)
        ]
    )
    store.append([LogRecord(service_id="other", at=T0, line="Hello other")])
    yield store
    db.dispose()


def _lines(store: DatabaseLogStore, **filters: object) -> list[str]:
    return [r.line for r in store.search(LogQuery(service_id="svc", **filters))]  # type: ignore[arg-type]


def test_grep_is_a_case_insensitive_substring(store: DatabaseLogStore) -> None:
    assert _lines(store, grep="hello world") == ["Hello World"]
    assert _lines(store, grep="WORLD") == ["Hello World"]
    assert _lines(store, grep="ok") == ["100% done_ok", "ok"]  # short pattern
    assert _lines(store, grep="0% d") == ["100% done_ok"]
    assert _lines(store, grep="_") == ["100% done_ok"]
    assert _lines(store, grep='"hi"') == ['say "hi"']
    assert _lines(store, grep="nothing like it") == []


def test_filters(store: DatabaseLogStore) -> None:
    assert _lines(store, stream="stderr") == ["error: disk full"]
    assert _lines(store, deployment_id="d2") == ["error: disk full", "ok"]
    assert _lines(store, replica="r1") == ["100% done_ok", "error: disk full"]
    assert _lines(store, since=T0 + timedelta(seconds=3)) == ["error: disk full", "ok"]
    assert _lines(store, until=T0 + timedelta(seconds=1)) == ["Hello World", "100% done_ok"]


def test_newest_first_page_then_cursor(store: DatabaseLogStore) -> None:
    newest = store.search(LogQuery(service_id="svc", limit=2))
    assert [r.line for r in newest] == ["error: disk full", "ok"]
    first = store.search(LogQuery(service_id="svc", limit=1))[0]
    page = store.search(LogQuery(service_id="svc", after_id=newest[0].id - 2, limit=2))
    assert [r.line for r in page] == ['say "hi"', "error: disk full"]
    assert first.line == "ok"


def test_resume_points_and_retention(store: DatabaseLogStore) -> None:
    assert store.last_app_lines("svc") == {
        "r0": T0 + timedelta(seconds=4),
        "r1": T0 + timedelta(seconds=3),
    }
    assert store.trim_service("svc", keep=2) == 3
    assert _lines(store) == ["error: disk full", "ok"]
    assert store.delete_before(T0 + timedelta(seconds=4)) == 2  # incl. the other service's
    assert _lines(store) == ["ok"]
    assert sorted(store.services()) == ["svc"]
