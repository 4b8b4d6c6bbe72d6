"""The per-service log limiter and the live hub.

Checks: lines within the rate pass untouched and in order; excess lines are dropped and the
batch ends with one marker per service saying how many; services have separate buckets; the
bucket refills with time; the hub gives each follower only matching lines and counts what a
lagging follower missed.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from kubidu.logs.hub import LogHub, Subscription
from kubidu.logs.limiter import LogLimiter
from kubidu.logs.model import LogQuery, LogRecord, StoredLine

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _records(service: str, count: int) -> list[LogRecord]:
    return [LogRecord(service_id=service, at=NOW, line=f"{service} {n}") for n in range(count)]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_within_the_rate_nothing_changes() -> None:
    limiter = LogLimiter(rate=100, burst=10, clock=Clock())
    records = _records("a", 10)
    assert limiter.admit(records) == records


def test_excess_is_dropped_and_marked_per_service() -> None:
    limiter = LogLimiter(rate=100, burst=3, clock=Clock())
    admitted = limiter.admit(_records("a", 5) + _records("b", 4))
    lines = [r.line for r in admitted]
    assert lines[:6] == ["a 0", "a 1", "a 2", "b 0", "b 1", "b 2"]
    markers = [r for r in admitted[6:] if r.source == "system"]
    assert [m.service_id for m in markers] == ["a", "b"]
    assert "2 log lines dropped" in markers[0].line and "1 log lines dropped" in markers[1].line


def test_the_bucket_refills_with_time() -> None:
    clock = Clock()
    limiter = LogLimiter(rate=10, burst=2, clock=clock)
    assert len(limiter.admit(_records("a", 2))) == 2
    assert all(r.source == "system" for r in limiter.admit(_records("a", 1)))
    clock.now += 0.1  # one token back
    assert [r.line for r in limiter.admit(_records("a", 1))] == ["a 0"]


def _stored(n: int, service: str = "a", line: str = "x") -> StoredLine:
    return StoredLine(
        id=n,
        service_id=service,
        at=NOW,
        line=line,
        source="app",
        stream="stdout",
        deployment_id="d",
        replica="r",
    )


def test_hub_filters_and_counts_lagging_followers() -> None:
    async def scenario() -> None:
        hub = LogHub()
        with hub.subscribe(LogQuery(service_id="a", grep="KEEP")) as sub:
            hub.publish([_stored(1, line="keep me"), _stored(2, "b", "keep"), _stored(3)])
            assert await sub.next(timeout=0.1) == _stored(1, line="keep me")
            assert await sub.next(timeout=0.05) is None
        small = Subscription(LogQuery(), queue=asyncio.Queue(maxsize=1))
        small.offer(_stored(1))
        small.offer(_stored(2))
        assert await small.next(timeout=0.1) == 1  # one line skipped
        assert await small.next(timeout=0.1) == _stored(1)

    asyncio.run(scenario())
