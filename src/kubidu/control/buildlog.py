"""Writes a deployment's build log to the log store, line by line, in small batches.

Lines reach live followers (``kubidu deploy``, the dashboard) within ~0.1 s: a batch is
stored and published when it is 50 lines long or 0.1 s old, and at every platform notice.
"""

from __future__ import annotations

import asyncio
import time

from kubidu.logs.hub import LogHub
from kubidu.logs.model import LogRecord, LogStore
from kubidu.store.models import utcnow

_MAX_BATCH = 50
_MAX_AGE_S = 0.1
_MAX_LINE = 8192


class BuildLog:
    def __init__(
        self, *, store: LogStore, hub: LogHub, service_id: str, deployment_id: str
    ) -> None:
        self._store, self._hub = store, hub
        self._service_id, self._deployment_id = service_id, deployment_id
        self._pending: list[LogRecord] = []
        self._oldest = 0.0

    async def write(self, line: str, *, stream: str = "build") -> None:
        if not self._pending:
            self._oldest = time.monotonic()
        self._pending.append(
            LogRecord(
                service_id=self._service_id,
                deployment_id=self._deployment_id,
                at=utcnow(),
                source="build",
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
            self._hub.publish(await asyncio.to_thread(self._store.append, batch))
