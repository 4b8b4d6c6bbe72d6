"""The log shipper: follows every service's replica logs in the runtime and stores them.

For each service the runtime holds, one task follows ``runtime.logs(follow=True)`` from where
the store left off (per replica, so a restarted control plane neither loses nor duplicates
lines), and one task stores what arrived — everything that queued up since the last write goes
in one batch, so the store keeps up with bursts while an idle service's next line is stored
at once. Stored lines pass the per-service limiter and are published to live followers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime

from kubidu.logs.hub import LogHub
from kubidu.logs.limiter import LogLimiter
from kubidu.logs.model import LogRecord, LogStore
from kubidu.runtimes.base import LogLine, Runtime

log = logging.getLogger(__name__)
_MAX_BATCH = 2000
_DISCOVER_S = 1.0


class LogShipper:
    def __init__(
        self, *, runtime: Runtime, store: LogStore, hub: LogHub, limiter: LogLimiter
    ) -> None:
        self._runtime, self._store, self._hub, self._limiter = runtime, store, hub, limiter
        self._followed: dict[str, asyncio.Task[None]] = {}

    async def run(self) -> None:
        """Start following new services, forget removed ones; forever."""
        try:
            while True:
                await self._discover()
                await asyncio.sleep(_DISCOVER_S)
        finally:
            for task in self._followed.values():
                task.cancel()

    async def _discover(self) -> None:
        current = set(await self._runtime.list_services())
        for service_key in current - set(self._followed):
            self._followed[service_key] = asyncio.create_task(self._ship(service_key))
        for service_key in [k for k, t in self._followed.items() if t.done()]:
            self._followed.pop(service_key)  # a finished follower restarts next round

    async def _ship(self, service_key: str) -> None:
        queue: asyncio.Queue[LogLine] = asyncio.Queue()
        writer = asyncio.create_task(self._write(service_key, queue))
        try:
            await self._read(service_key, queue)
        except Exception:  # the runtime lost the service; rediscovery restarts us if it's back
            log.exception("following logs of %s failed", service_key)
        finally:
            await _drain(queue)
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer

    async def _read(self, service_key: str, queue: asyncio.Queue[LogLine]) -> None:
        last = await asyncio.to_thread(self._store.last_app_lines, service_key)
        since = min(last.values()) if last else None
        async for line in self._runtime.logs(service_key, follow=True, since=since):
            if _is_new(line, last):
                queue.put_nowait(line)

    async def _write(self, service_key: str, queue: asyncio.Queue[LogLine]) -> None:
        while True:
            batch = [await queue.get()]
            while not queue.empty() and len(batch) < _MAX_BATCH:
                batch.append(queue.get_nowait())
            records = self._limiter.admit(_record(service_key, line) for line in batch)
            stored = await asyncio.to_thread(self._store.append, records)
            self._hub.publish(stored)
            for _ in batch:
                queue.task_done()


async def _drain(queue: asyncio.Queue[LogLine]) -> None:
    """Give the writer a moment to store what was read before the follower ended."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(queue.join(), timeout=5)


def _is_new(line: LogLine, last: dict[str, datetime]) -> bool:
    stored_until = last.get(line.replica_id)
    return stored_until is None or line.timestamp > stored_until


def _record(service_key: str, line: LogLine) -> LogRecord:
    return LogRecord(
        service_id=service_key,
        at=line.timestamp,
        line=line.line,
        source="system" if line.stream == "system" else "app",
        stream=line.stream,
        deployment_id=line.deployment_id,
        replica=line.replica_id,
    )
