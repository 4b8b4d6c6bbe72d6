"""Value types and the interface of the log store.

Written by ``control/`` (the log shipper and the build log), read by ``services/logs.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

SOURCES = ("build", "app", "system")
STREAMS = ("stdout", "stderr", "system", "build")


@dataclass(frozen=True)
class LogRecord:
    """A line to store."""

    service_id: str
    at: datetime
    line: str
    source: str = "app"  # build | app | system
    stream: str = "stdout"  # stdout | stderr | system | build
    deployment_id: str | None = None
    replica: str | None = None


@dataclass(frozen=True)
class StoredLine:
    """A stored line; ``id`` grows with insertion order (the cursor of followers)."""

    id: int
    service_id: str
    at: datetime
    line: str
    source: str
    stream: str
    deployment_id: str | None
    replica: str | None


@dataclass(frozen=True)
class LogQuery:
    """Filters of a search; every field narrows it. Results come oldest first."""

    service_id: str | None = None
    deployment_id: str | None = None
    replica: str | None = None
    stream: str | None = None
    source: str | None = None
    grep: str | None = None  # case-insensitive substring
    since: datetime | None = None
    until: datetime | None = None
    after_id: int = 0
    limit: int = 1000

    def matches(self, line: StoredLine) -> bool:
        """The same filters applied in memory, for lines that reach followers live."""
        checks = (
            (self.service_id, line.service_id),
            (self.deployment_id, line.deployment_id),
            (self.replica, line.replica),
            (self.stream, line.stream),
            (self.source, line.source),
        )
        if any(wanted is not None and wanted != actual for wanted, actual in checks):
            return False
        if self.grep is not None and self.grep.lower() not in line.line.lower():
            return False
        return line.id > self.after_id


class LogStore(Protocol):
    def append(self, records: Sequence[LogRecord]) -> list[StoredLine]:
        """Store lines in order; returns them with their ids."""
        ...

    def search(self, query: LogQuery) -> list[StoredLine]:
        """Matching lines, oldest first: the newest ``limit`` ones, or with ``after_id`` the
        first ``limit`` after that cursor."""
        ...

    def last_app_lines(self, service_id: str) -> dict[str, datetime]:
        """Per replica, the time of its newest stored line (where a restarted shipper resumes)."""
        ...

    def delete_before(self, cutoff: datetime) -> int: ...

    def trim_service(self, service_id: str, *, keep: int) -> int:
        """Delete a service's oldest lines beyond ``keep``; returns how many went."""
        ...

    def services(self) -> list[str]: ...

    def delete_service(self, service_id: str) -> int: ...
