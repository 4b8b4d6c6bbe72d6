"""Per-service cap on how fast lines are stored, so a noisy app cannot fill the disk.

A token bucket per service (``rate`` lines/s, bursts up to ``burst``). Lines beyond it are
dropped and counted, and every batch that lost lines ends with a marker line saying how many
were dropped and why — as Heroku's Logplex does — so a gap in the logs is never silent.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from kubidu.logs.model import LogRecord


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass
class LogLimiter:
    rate: float
    burst: float
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, _Bucket] = field(default_factory=dict)

    def admit(self, records: Iterable[LogRecord]) -> list[LogRecord]:
        """The records to store, in order; where some were dropped, a marker follows them."""
        admitted: list[LogRecord] = []
        dropped: dict[str, tuple[int, LogRecord]] = {}
        for record in records:
            bucket = self._refill(record.service_id)
            if bucket.tokens < 1:
                count, _ = dropped.get(record.service_id, (0, record))
                dropped[record.service_id] = (count + 1, record)
                continue
            bucket.tokens -= 1
            admitted.append(record)
        return admitted + [self._marker(last, count) for count, last in dropped.values()]

    def _refill(self, service_id: str) -> _Bucket:
        now = self.clock()
        bucket = self._buckets.setdefault(service_id, _Bucket(self.burst, now))
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        return bucket

    def _marker(self, record: LogRecord, dropped: int) -> LogRecord:
        return LogRecord(
            service_id=record.service_id,
            at=record.at,
            source="system",
            stream="system",
            deployment_id=record.deployment_id,
            replica=record.replica,
            line=f"[kubidu] {dropped} log lines dropped: the service wrote more than "
            f"{self.rate:g} lines/s (burst {self.burst:g})",
        )
