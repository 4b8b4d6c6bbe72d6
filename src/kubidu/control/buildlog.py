"""Writes a deployment's build log to the store, line by line, in small batches.

Lines are visible to followers (``kubidu deploy``, the dashboard) within ~0.2 s: a batch is
flushed when it is 50 lines long or 0.2 s old, and at the end of the build.
"""

from __future__ import annotations

import asyncio
import time

from kubidu.store.db import Database
from kubidu.store.models import LogLineRow, utcnow

_MAX_BATCH = 50
_MAX_AGE_S = 0.2
_MAX_LINE = 8192


class BuildLog:
    def __init__(self, *, db: Database, deployment_id: str) -> None:
        self._db = db
        self._deployment_id = deployment_id
        self._pending: list[LogLineRow] = []
        self._oldest = 0.0

    async def write(self, line: str, *, stream: str = "build") -> None:
        if not self._pending:
            self._oldest = time.monotonic()
        self._pending.append(
            LogLineRow(
                deployment_id=self._deployment_id,
                at=utcnow(),
                stream=stream,
                line=line.rstrip("\n")[:_MAX_LINE],
            )
        )
        if len(self._pending) >= _MAX_BATCH or time.monotonic() - self._oldest > _MAX_AGE_S:
            await self.flush()

    async def system(self, line: str) -> None:
        await self.write(f"==> {line}", stream="system")
        await self.flush()

    async def flush(self) -> None:
        batch, self._pending = self._pending, []
        if batch:
            await asyncio.to_thread(self._insert, batch)

    def _insert(self, batch: list[LogLineRow]) -> None:
        with self._db.transaction() as session:
            session.add_all(batch)
