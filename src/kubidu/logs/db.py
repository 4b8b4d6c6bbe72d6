"""The embedded log store: lines in the control-plane database.

Search is a case-insensitive substring match. On SQLite it goes through the FTS5 trigram
index (for patterns of three characters or more) and on PostgreSQL through ``ILIKE``, which
the pg_trgm GIN index accelerates; both indexes are made by migration 0002.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import Select, delete, func, select, text
from sqlalchemy.orm import Session

from kubidu.logs.model import LogQuery, LogRecord, StoredLine
from kubidu.store.db import Database
from kubidu.store.models import LogEntry


class DatabaseLogStore:
    def __init__(self, *, db: Database) -> None:
        self._db = db

    def append(self, records: Sequence[LogRecord]) -> list[StoredLine]:
        rows = [
            LogEntry(
                service_id=r.service_id,
                deployment_id=r.deployment_id,
                replica=r.replica,
                source=r.source,
                stream=r.stream,
                at=r.at,
                line=r.line,
            )
            for r in records
        ]
        with self._db.transaction() as session:
            session.add_all(rows)
            session.flush()
            return [_stored(row) for row in rows]

    def search(self, query: LogQuery) -> list[StoredLine]:
        with self._db.transaction() as session:
            statement = self._filtered(session, query)
            if query.after_id == 0:  # the newest matching lines, returned oldest first
                newest = statement.order_by(LogEntry.id.desc()).limit(query.limit)
                return [_stored(r) for r in reversed(session.scalars(newest).all())]
            rows = session.scalars(statement.order_by(LogEntry.id).limit(query.limit)).all()
            return [_stored(r) for r in rows]

    def _filtered(self, session: Session, query: LogQuery) -> Select[LogEntry]:
        statement = select(LogEntry).where(LogEntry.id > query.after_id)
        for column, wanted in (
            (LogEntry.service_id, query.service_id),
            (LogEntry.deployment_id, query.deployment_id),
            (LogEntry.replica, query.replica),
            (LogEntry.stream, query.stream),
            (LogEntry.source, query.source),
        ):
            if wanted is not None:
                statement = statement.where(column == wanted)
        if query.since is not None:
            statement = statement.where(LogEntry.at >= query.since)
        if query.until is not None:
            statement = statement.where(LogEntry.at <= query.until)
        if query.grep:
            statement = _grep(session, statement, query.grep)
        return statement

    def last_app_lines(self, service_id: str) -> dict[str, datetime]:
        with self._db.transaction() as session:
            rows = session.execute(
                select(LogEntry.replica, func.max(LogEntry.at))
                .where(LogEntry.service_id == service_id, LogEntry.replica.is_not(None))
                .group_by(LogEntry.replica)
            ).all()
            return {str(replica): _aware(at) for replica, at in rows}

    def delete_before(self, cutoff: datetime) -> int:
        with self._db.transaction() as session:
            result = session.execute(delete(LogEntry).where(LogEntry.at < cutoff))
            return int(result.rowcount)  # type: ignore[attr-defined]

    def trim_service(self, service_id: str, *, keep: int) -> int:
        with self._db.transaction() as session:
            boundary = session.scalar(
                select(LogEntry.id)
                .where(LogEntry.service_id == service_id)
                .order_by(LogEntry.id.desc())
                .offset(keep)
                .limit(1)
            )
            if boundary is None:
                return 0
            result = session.execute(
                delete(LogEntry).where(LogEntry.service_id == service_id, LogEntry.id <= boundary)
            )
            return int(result.rowcount)  # type: ignore[attr-defined]

    def services(self) -> list[str]:
        with self._db.transaction() as session:
            return list(session.scalars(select(LogEntry.service_id).distinct()).all())

    def delete_service(self, service_id: str) -> int:
        with self._db.transaction() as session:
            result = session.execute(delete(LogEntry).where(LogEntry.service_id == service_id))
            return int(result.rowcount)  # type: ignore[attr-defined]


def _grep(session: Session, statement: Select[LogEntry], pattern: str) -> Select[LogEntry]:
    if session.get_bind().dialect.name == "sqlite" and len(pattern) >= 3:
        phrase = '"' + pattern.replace('"', '""') + '"'  # an FTS5 string: no query syntax
        matching = text("SELECT rowid FROM log_entries_fts WHERE log_entries_fts MATCH :q")
        return statement.where(LogEntry.id.in_(matching.bindparams(q=phrase)))
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return statement.where(LogEntry.line.ilike(f"%{escaped}%", escape="\\"))


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _stored(row: LogEntry) -> StoredLine:
    return StoredLine(
        id=row.id,
        service_id=row.service_id,
        at=_aware(row.at),
        line=row.line,
        source=row.source,
        stream=row.stream,
        deployment_id=row.deployment_id,
        replica=row.replica,
    )
