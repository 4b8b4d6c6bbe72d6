"""Use-cases for custom domains: add, list, verify now, remove (``kubidu domains ...``).

Called by the API (``api/domains.py``) and the dashboard. Every call is authorized against the
caller's team through ``access.service`` (another team's service is a 404) and every change is
audited. A hostname belongs to exactly one service on the whole platform: claiming one that is
taken — by this team or another — is a 409 that does not say who holds it.

The background verifier (``control/domains.py``) moves domains on from ``verified``; its state
changes are in ``services/domain_states.py``. Here, "verify now" runs the same DNS check the
verifier runs, records its result, and wakes the verifier for the certificate.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kubidu.core.domains import DnsRecord, DomainStatus, normalize_hostname, required_records
from kubidu.core.errors import Conflict, KubiduError, NotFound
from kubidu.core.states import Role
from kubidu.services import access, audit
from kubidu.services.context import Actor, DomainSetup, Platform
from kubidu.services.domain_states import record_dns
from kubidu.store.models import Domain, new_id, utcnow

ServicePath = tuple[str, str, str]
MAX_DOMAINS_PER_SERVICE = 50


@dataclass(frozen=True)
class DomainView:
    hostname: str
    service: str
    status: str
    records: list[DnsRecord]
    reason: str | None
    expires_at: datetime | None
    issuer: str | None
    checked_at: datetime | None
    created_at: datetime


def setup_of(p: Platform) -> DomainSetup:
    if p.domains is None:
        raise KubiduError("custom domains are not configured on this server")
    return p.domains


def domain_view(row: Domain, setup: DomainSetup) -> DomainView:
    records = required_records(
        row.hostname, target=row.service.hostname, token=row.token, public_ips=setup.public_ips
    )
    return DomainView(
        hostname=row.hostname,
        service=row.service.name,
        status=row.status,
        records=records,
        reason=row.reason,
        expires_at=row.expires_at,
        issuer=row.issuer,
        checked_at=row.checked_at,
        created_at=row.created_at,
    )


def add_domain(
    p: Platform, *, actor: Actor, path: ServicePath, hostname: str, team: str | None = None
) -> DomainView:
    """Claim ``hostname`` for the service; it starts ``pending`` until its DNS is right."""
    setup = setup_of(p)
    name = normalize_hostname(hostname, base_domain=p.base_domain)
    try:
        with p.db.transaction() as session:
            view = _insert(session, setup, actor, access_ref(session, actor, path, team), name)
    except IntegrityError:  # a concurrent claim of the same name won the race
        raise _taken(name) from None
    setup.wake_verifier()
    return view


def access_ref(
    session: Session, actor: Actor, path: ServicePath, team: str | None, needed: Role = Role.MEMBER
) -> access.ServiceRef:
    return access.service(session, actor, path, team=team, needed=needed)


def _insert(
    session: Session, setup: DomainSetup, actor: Actor, ref: access.ServiceRef, name: str
) -> DomainView:
    existing = session.scalars(select(Domain).where(Domain.hostname == name)).first()
    if existing is not None:
        if existing.service_id == ref.service.id:
            raise Conflict(f"{name} is already a domain of this service")
        raise _taken(name)
    count = len(_rows(session, ref.service.id))
    if count >= MAX_DOMAINS_PER_SERVICE:
        raise Conflict(f"a service may have at most {MAX_DOMAINS_PER_SERVICE} domains")
    row = Domain(
        id=new_id("dom"),
        service_id=ref.service.id,
        service=ref.service,
        hostname=name,
        token=f"kubidu-{secrets.token_hex(16)}",
        status=DomainStatus.PENDING,
        attempts=0,
        next_check_at=utcnow(),
    )
    session.add(row)
    session.flush()
    _audit(session, actor, ref, "domain.add", row)
    return domain_view(row, setup)


def _taken(name: str) -> Conflict:
    return Conflict(f"{name} is already claimed by another service; remove it there first")


def _audit(
    session: Session, actor: Actor, ref: access.ServiceRef, action: str, row: Domain
) -> None:
    audit.record(
        session,
        actor=actor,
        team_id=ref.team.id,
        action=action,
        obj=("domain", row.id),
        details={"hostname": row.hostname, "service": ref.service.id, "status": row.status},
    )


def _rows(session: Session, service_id: str) -> list[Domain]:
    query = select(Domain).where(Domain.service_id == service_id).order_by(Domain.hostname)
    return list(session.scalars(query).all())


def list_domains(
    p: Platform, *, actor: Actor, path: ServicePath, team: str | None = None
) -> list[DomainView]:
    setup = setup_of(p)
    with p.db.transaction() as session:
        ref = access_ref(session, actor, path, team, Role.VIEWER)
        return [domain_view(row, setup) for row in _rows(session, ref.service.id)]


def _find(session: Session, ref: access.ServiceRef, name: str) -> Domain:
    row = session.scalars(
        select(Domain).where(Domain.hostname == name, Domain.service_id == ref.service.id)
    ).first()
    if row is None:
        raise NotFound(f"{name} is not a domain of service {ref.service.name!r}")
    return row


async def verify_domain(
    p: Platform, *, actor: Actor, path: ServicePath, hostname: str, team: str | None = None
) -> DomainView:
    """Check the DNS records now; on success the verifier obtains the certificate at once."""
    setup = setup_of(p)
    name = normalize_hostname(hostname, base_domain=p.base_domain)
    with p.db.transaction() as session:
        ref = access_ref(session, actor, path, team)
        row = _find(session, ref, name)
        domain_id, token, target = row.id, row.token, row.service.hostname
        _audit(session, actor, ref, "domain.verify", row)
    check = await setup.dns.check(name, token=token, target=target, public_ips=setup.public_ips)
    record_dns(p.db, domain_id, check, recheck_now=True)
    setup.wake_verifier()
    with p.db.transaction() as session:
        return domain_view(_find(session, access_ref(session, actor, path, team), name), setup)


def remove_domain(
    p: Platform, *, actor: Actor, path: ServicePath, hostname: str, team: str | None = None
) -> None:
    """Stop routing ``hostname`` to the service and release the name."""
    setup = setup_of(p)
    name = normalize_hostname(hostname, base_domain=p.base_domain)
    with p.db.transaction() as session:
        ref = access_ref(session, actor, path, team)
        row = _find(session, ref, name)
        _audit(session, actor, ref, "domain.remove", row)
        session.delete(row)
    setup.wake_verifier()
