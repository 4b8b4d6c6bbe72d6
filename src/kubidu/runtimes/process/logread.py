"""Reading replica logs back: merge the JSON-lines files of a service, oldest first, and tail them.

Used by :meth:`ProcessRuntime.logs`. Each replica's file is in time order, so files are merged
rather than sorted (a line never overtakes an earlier line of the same replica). With ``follow``
the files are polled every 0.05 s; a half-written last line waits for its newline.
"""

from __future__ import annotations

import asyncio
import heapq
import json
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

from kubidu.runtimes.base import LogLine
from kubidu.runtimes.process.files import LOG_SUFFIX

POLL_S = 0.05  # bounds the latency of `kubidu logs -f`; a glob and a read per tick is cheap


class LogTail:
    """Remembers how far each log file of one service has been read."""

    def __init__(self, directory: Path, *, since: datetime | None) -> None:
        self._dir = directory
        self._since = _aware(since) if since else None
        self._offsets: dict[Path, int] = {}
        self._partial: dict[Path, bytes] = {}

    def read_new(self) -> list[LogLine]:
        """Lines written since the last call, merged across replicas by time."""
        batches = [self._read_file(path) for path in sorted(self._dir.glob(f"*{LOG_SUFFIX}"))]
        return list(heapq.merge(*batches, key=lambda line: line.timestamp))

    def _read_file(self, path: Path) -> list[LogLine]:
        offset = self._offsets.get(path, 0)
        try:
            with path.open("rb") as handle:
                if os.fstat(handle.fileno()).st_size < offset:  # rotated: a new file began
                    offset = 0
                    self._partial.pop(path, None)
                handle.seek(offset)
                data = handle.read()
        except OSError:
            return []
        self._offsets[path] = offset + len(data)
        *complete, rest = (self._partial.pop(path, b"") + data).split(b"\n")
        if rest:
            self._partial[path] = rest
        lines = (parse_line(raw) for raw in complete)
        return [line for line in lines if line is not None and self._wanted(line)]

    def _wanted(self, line: LogLine) -> bool:
        return self._since is None or line.timestamp >= self._since


def parse_line(raw: bytes) -> LogLine | None:
    """One JSON line of a replica log, or None when it is damaged."""
    try:
        record = json.loads(raw)
        return LogLine(
            timestamp=_aware(datetime.fromisoformat(record["at"])),
            replica_id=str(record["replica"]),
            deployment_id=str(record["deployment_id"]),
            stream=str(record["stream"]),
            line=str(record["line"]),
        )
    except (ValueError, KeyError, TypeError):
        return None


async def stream_logs(
    directory: Path, *, follow: bool, since: datetime | None
) -> AsyncIterator[LogLine]:
    tail = LogTail(directory, since=since)
    for line in await asyncio.to_thread(tail.read_new):
        yield line
    while follow:
        await asyncio.sleep(POLL_S)
        for line in tail.read_new():
            yield line


def _aware(moment: datetime) -> datetime:
    """Naive datetimes are taken as UTC, so comparisons never mix the two kinds."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
