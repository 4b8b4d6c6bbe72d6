"""Live fan-out of stored log lines to followers, without polling the database.

The shipper and the build log publish every batch right after it is stored; each follower
(a ``kubidu logs -f``, a dashboard log view) holds a bounded queue. A follower that falls
too far behind loses lines rather than slowing the platform down, and is told how many.
Everything runs on the server's event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from kubidu.logs.model import LogQuery, StoredLine

QUEUE_LIMIT = 20_000


@dataclass(eq=False)  # identity: each follower is its own subscription
class Subscription:
    query: LogQuery
    queue: asyncio.Queue[StoredLine] = field(
        default_factory=lambda: asyncio.Queue(maxsize=QUEUE_LIMIT)
    )
    dropped: int = 0

    def offer(self, line: StoredLine) -> None:
        if not self.query.matches(line):
            return
        try:
            self.queue.put_nowait(line)
        except asyncio.QueueFull:
            self.dropped += 1

    async def next(self, *, timeout: float) -> StoredLine | int | None:
        """The next line, or an ``int`` saying how many were skipped because the reader
        lagged, or None when nothing came within ``timeout`` seconds."""
        if self.dropped:
            skipped, self.dropped = self.dropped, 0
            return skipped
        try:
            return await asyncio.wait_for(self.queue.get(), timeout=timeout)
        except TimeoutError:
            return None


class LogHub:
    def __init__(self) -> None:
        self._subscriptions: set[Subscription] = set()

    @property
    def followers(self) -> int:
        """How many followers are subscribed (each open log stream is one)."""
        return len(self._subscriptions)

    def publish(self, lines: Sequence[StoredLine]) -> None:
        for subscription in list(self._subscriptions):
            for line in lines:
                subscription.offer(line)

    @contextmanager
    def subscribe(self, query: LogQuery) -> Iterator[Subscription]:
        subscription = Subscription(query)
        self._subscriptions.add(subscription)
        try:
            yield subscription
        finally:
            self._subscriptions.discard(subscription)
