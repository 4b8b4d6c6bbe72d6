"""State changes of custom domains made by the platform itself, and the edge's ``ask`` answer.

Called by the background verifier (``control/domains.py``), by "verify now"
(``services/domains.py``) and by the ``ask`` endpoint Caddy calls before it obtains a
certificate (``api/domains.py``). Each function is one short transaction.

The machine (names in ``core/domains.py``)::

    pending ──DNS right──▶ verified ──probe starts──▶ issuing ──certificate──▶ active
       ▲  └─DNS wrong (reason: what is missing; retried with backoff)        │
       │                              issuing ──CA error──▶ failed ──certificate──┘
    (add)                                     (failed keeps retrying with backoff)

Transitions into ``verified`` and ``active`` are audited as system actions; the frequent
"still pending" / "still failing" rechecks are not, or they would flood the audit chain.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from kubidu.core.domains import ROUTED, DomainStatus, next_check_delay
from kubidu.dns import DnsCheck
from kubidu.services import audit
from kubidu.store.db import Database
from kubidu.store.models import Domain, Service, utcnow

# How often an active certificate's expiry is read back (Caddy renews it by itself).
ACTIVE_RECHECK = timedelta(hours=1)


@dataclass(frozen=True)
class DomainTask:
    """What the verifier needs to know to check one domain, read in one go."""

    id: str
    hostname: str
    token: str
    target: str
    status: DomainStatus
    attempts: int
    issuing_since: datetime | None


def due_domains(db: Database, *, now: datetime | None = None) -> list[DomainTask]:
    """Every domain whose next check is due, oldest due first."""
    moment = now or utcnow()
    with db.transaction() as session:
        rows = session.scalars(
            select(Domain)
            .where(or_(Domain.next_check_at.is_(None), Domain.next_check_at <= moment))
            .order_by(Domain.next_check_at)
        ).all()
        return [_task(row) for row in rows]


def _task(row: Domain) -> DomainTask:
    return DomainTask(
        row.id,
        row.hostname,
        row.token,
        row.service.hostname,
        DomainStatus(row.status),
        row.attempts,
        row.issuing_since,
    )


def next_due(db: Database) -> datetime | None:
    """When the earliest scheduled check is due (None if no domain exists)."""
    with db.transaction() as session:
        return session.scalars(
            select(Domain.next_check_at)
            .where(Domain.next_check_at.is_not(None))
            .order_by(Domain.next_check_at)
            .limit(1)
        ).first()


def record_dns(db: Database, domain_id: str, check: DnsCheck, *, recheck_now: bool = False) -> bool:
    """Record a DNS check of a pending domain; True when it just became ``verified``."""
    now = utcnow()
    with db.transaction() as session:
        row = session.get(Domain, domain_id)
        if row is None:
            return False
        row.checked_at = now
        if recheck_now and row.status != DomainStatus.PENDING:
            row.next_check_at = now  # "check now" also re-probes the certificate at once
        if row.status != DomainStatus.PENDING:
            return False
        if not check.ok:
            row.reason = "; ".join(check.missing)
            row.attempts += 1
            row.next_check_at = now + timedelta(seconds=next_check_delay(row.attempts))
            return False
        _move(row, DomainStatus.VERIFIED, reason=None, next_check=now)
        row.verified_at = now
        _audit_system(session, row, "domain.verified")
        return True


def record_issuing(db: Database, domain_id: str, *, since: datetime) -> None:
    """The verifier started asking the edge for a certificate."""
    with db.transaction() as session:
        row = session.get(Domain, domain_id)
        if row is not None and row.status == DomainStatus.VERIFIED:
            row.status = DomainStatus.ISSUING
            row.issuing_since = since


def record_certificate(db: Database, domain_id: str, *, expires_at: datetime, issuer: str) -> bool:
    """The edge serves a certificate for the domain; True when it just became ``active``."""
    now = utcnow()
    with db.transaction() as session:
        row = session.get(Domain, domain_id)
        if row is None or row.status not in ROUTED:
            return False
        was_active = row.status == DomainStatus.ACTIVE
        row.expires_at, row.issuer, row.checked_at = expires_at, issuer[:255], now
        _move(row, DomainStatus.ACTIVE, reason=None, next_check=now + ACTIVE_RECHECK)
        if not was_active:
            _audit_system(session, row, "domain.active")
        return not was_active


def record_waiting(db: Database, domain_id: str, *, retry_in: timedelta) -> None:
    """No certificate yet and no error from the CA: still issuing, look again soon."""
    with db.transaction() as session:
        row = session.get(Domain, domain_id)
        if row is not None and row.status in ROUTED:
            row.checked_at = utcnow()
            row.next_check_at = row.checked_at + retry_in


def record_failure(db: Database, domain_id: str, *, reason: str) -> None:
    """The CA (or the way to it) failed; the edge keeps retrying, and so do we, with backoff."""
    now = utcnow()
    with db.transaction() as session:
        row = session.get(Domain, domain_id)
        if row is None or row.status not in ROUTED:
            return
        row.attempts = row.attempts + 1 if row.status == DomainStatus.FAILED else 1
        delay = timedelta(seconds=next_check_delay(row.attempts))
        _move(row, DomainStatus.FAILED, reason=reason[:2000], next_check=now + delay)
        row.checked_at = now


def _move(row: Domain, status: DomainStatus, *, reason: str | None, next_check: datetime) -> None:
    if row.status != status and status != DomainStatus.FAILED:
        row.attempts = 0
    row.status, row.reason, row.next_check_at = status, reason, next_check


def _audit_system(session: Session, row: Domain, action: str) -> None:
    audit.record(
        session,
        actor=None,
        team_id=row.service.environment.project.team_id,
        action=action,
        obj=("domain", row.id),
        details={"hostname": row.hostname, "service": row.service_id},
    )


def routed_hostnames(db: Database) -> dict[str, tuple[list[str], list[str]]]:
    """Per service id: its verified custom hostnames, and those of them to redirect to HTTPS."""
    with db.transaction() as session:
        rows = session.execute(
            select(Domain.service_id, Domain.hostname, Domain.status).where(
                Domain.status.in_([s.value for s in ROUTED])
            )
        ).all()
    result: dict[str, tuple[list[str], list[str]]] = {}
    for service_id, hostname, status in rows:
        names, redirects = result.setdefault(service_id, ([], []))
        names.append(hostname)
        if status == DomainStatus.ACTIVE:
            redirects.append(hostname)
    return result


def issuance_allowed(db: Database, hostname: str, *, base_domain: str) -> bool:
    """May the edge obtain a certificate for ``hostname``? (Caddy's on-demand ``ask``.)

    Yes for custom domains whose DNS was verified, and for the platform's generated hostnames
    when the base domain is a real domain (``*.localhost`` can get no public certificate).
    """
    name = hostname.strip().rstrip(".").lower()
    if not name or len(name) > 253:
        return False
    with db.transaction() as session:
        status = session.scalars(select(Domain.status).where(Domain.hostname == name)).first()
        if status is not None:
            return status in ROUTED
        if not _real_domain(base_domain):
            return False
        return (
            session.scalars(select(Service.id).where(Service.hostname == name)).first() is not None
        )


def _real_domain(base_domain: str) -> bool:
    base = base_domain.lower().rstrip(".")
    return "." in base and base != "localhost" and not base.endswith(".localhost")
