"""Appending to the hash-chained audit log, inside the caller's transaction.

The chain is serialised by locking the newest record (PostgreSQL) or by SQLite's single
writer, so two concurrent actions never fork it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import false, func, select, update
from sqlalchemy.orm import Session

from kubidu.security.audit import GENESIS, record_hash, verify_chain
from kubidu.services.context import Actor
from kubidu.store.models import AuditRecord, utcnow

_CHAIN_LOCK = 0x6B75626964750001  # PostgreSQL advisory lock id of the audit chain


def record(
    session: Session,
    *,
    actor: Actor | None,
    team_id: str | None,
    action: str,
    obj: tuple[str, str],
    details: dict[str, Any] | None = None,
) -> None:
    """Append one record for a mutating action (never with secret values in ``details``)."""
    fields: dict[str, Any] = {
        "at": utcnow().isoformat(),
        "actor": actor.email if actor else "system",
        "team_id": team_id,
        "action": action,
        "object_type": obj[0],
        "object_id": obj[1],
        "remote_addr": actor.remote_addr if actor else None,
        "details": details or {},
    }
    prev = _last_hash(session)
    session.add(AuditRecord(**_row(fields), prev_hash=prev, hash=record_hash(prev, fields)))
    session.flush()


def _row(fields: dict[str, Any]) -> dict[str, Any]:
    return {**fields, "at": datetime.fromisoformat(fields["at"])}


def _last_hash(session: Session) -> str:
    _lock_chain(session)
    query = select(AuditRecord.hash).order_by(AuditRecord.seq.desc()).limit(1)
    return session.scalar(query) or GENESIS


def _lock_chain(session: Session) -> None:
    """Serialise appends: take the lock *before* reading the newest hash, or two concurrent
    transactions chain onto the same record and fork the chain."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(_CHAIN_LOCK)))
    else:  # SQLite takes its single write lock at the first write, so write (nothing) first
        session.execute(update(AuditRecord).where(false()).values(seq=AuditRecord.seq))


def _fields(rec: AuditRecord) -> dict[str, Any]:
    return {
        "at": rec.at.astimezone(UTC).isoformat(),
        "actor": rec.actor,
        "team_id": rec.team_id,
        "action": rec.action,
        "object_type": rec.object_type,
        "object_id": rec.object_id,
        "remote_addr": rec.remote_addr,
        "details": rec.details,
    }


def first_broken_record(session: Session) -> int | None:
    """The seq of the first record that was edited, inserted or deleted; None if intact."""
    rows = session.scalars(select(AuditRecord).order_by(AuditRecord.seq)).all()
    return verify_chain((r.seq, r.prev_hash, r.hash, _fields(r)) for r in rows)
