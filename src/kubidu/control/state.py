"""Deployment state changes made by the control layer, each its own short transaction.

Kept apart from the pipeline so that every write is a small, synchronous function the async
code runs in a thread, and so the legal transitions (``core/states.py``) are checked in one place.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from kubidu.core.states import IN_FLIGHT, DeploymentStatus, check_transition
from kubidu.security.crypto import Keyring
from kubidu.store.db import Database
from kubidu.store.models import Deployment, Service, utcnow


@dataclass(frozen=True)
class DeploymentRecord:
    """Everything the pipeline needs about a deployment, detached from the session."""

    id: str
    status: DeploymentStatus
    service_id: str
    hostname: str
    team_id: str
    project: str
    environment: str
    service: str
    source_path: str | None
    artifact: str | None
    app_kind: str | None
    command: tuple[str, ...]
    build_env: dict[str, str]
    env: dict[str, str]
    replicas: int
    health_path: str | None
    generation: int
    created_at_ts: float
    port: int | None = None  # the port an image deployment listens on; None: the default
    cpu_limit: float | None = None
    memory_limit_mb: int | None = None


def load(db: Database, keyring: Keyring, deployment_id: str) -> DeploymentRecord:
    with db.transaction() as session:
        row = session.get_one(Deployment, deployment_id)
        return _record(row, keyring)


def _record(row: Deployment, keyring: Keyring) -> DeploymentRecord:
    svc = row.service
    env_values: dict[str, str] = {}
    if row.env_ciphertext is not None and row.env_key_id is not None:
        plain = keyring.open(row.env_key_id, row.env_ciphertext, context=f"deployment-env:{row.id}")
        env_values = json.loads(plain)
    return DeploymentRecord(
        id=row.id,
        status=DeploymentStatus(row.status),
        service_id=svc.id,
        hostname=svc.hostname,
        team_id=svc.environment.project.team_id,
        project=svc.environment.project.name,
        environment=svc.environment.name,
        service=svc.name,
        source_path=row.source_path,
        artifact=row.artifact,
        app_kind=row.app_kind,
        command=tuple(row.command or ()),
        build_env=dict(row.build_env or {}),
        env=env_values,
        replicas=svc.replicas,  # the service's scale now: `kubidu scale` applies live
        health_path=row.health_path,
        generation=row.generation,
        created_at_ts=row.created_at.timestamp(),
        port=row.port,
        cpu_limit=svc.cpu_limit,
        memory_limit_mb=svc.memory_limit_mb,
    )


def transition(db: Database, deployment_id: str, new: DeploymentStatus, **fields: Any) -> None:
    with db.transaction() as session:
        row = session.get_one(Deployment, deployment_id)
        check_transition(DeploymentStatus(row.status), new)
        row.status = new
        for name, value in fields.items():
            setattr(row, name, value)
        if new in (DeploymentStatus.FAILED, DeploymentStatus.CANCELLED, DeploymentStatus.ACTIVE):
            row.finished_at = utcnow()


def fail(db: Database, deployment_id: str, reason: str) -> None:
    """Mark failed unless it already ended (a resumed job may find it so) or is gone (a
    closed preview's rows are deleted)."""
    with db.transaction() as session:
        row = session.get(Deployment, deployment_id)
        if row is not None and DeploymentStatus(row.status) in IN_FLIGHT:
            row.status, row.failure_reason, row.finished_at = (
                DeploymentStatus.FAILED,
                reason[:4000],
                utcnow(),
            )


def newer_active_exists(db: Database, rec: DeploymentRecord) -> bool:
    """True when a deployment created after ``rec`` already serves the service."""
    with db.transaction() as session:
        svc = session.get_one(Service, rec.service_id)
        if svc.active_deployment_id in (None, rec.id):
            return False
        active = session.get_one(Deployment, svc.active_deployment_id)
        return active.created_at.timestamp() > rec.created_at_ts


def activate(db: Database, rec: DeploymentRecord) -> str | None:
    """Make ``rec`` the active deployment; returns the one it replaced."""
    with db.transaction() as session:
        svc = session.get_one(Service, rec.service_id)
        previous = svc.active_deployment_id
        if previous and previous != rec.id:
            old = session.get_one(Deployment, previous)
            check_transition(DeploymentStatus(old.status), DeploymentStatus.SUPERSEDED)
            old.status = DeploymentStatus.SUPERSEDED
        row = session.get_one(Deployment, rec.id)
        check_transition(DeploymentStatus(row.status), DeploymentStatus.ACTIVE)
        row.status, row.finished_at = DeploymentStatus.ACTIVE, utcnow()
        svc.active_deployment_id = rec.id
        svc.generation += 1
        return previous if previous != rec.id else None


def deployments_of(db: Database, service_id: str) -> list[tuple[str, DeploymentStatus]]:
    with db.transaction() as session:
        rows = session.execute(
            select(Deployment.id, Deployment.status).where(Deployment.service_id == service_id)
        ).all()
        return [(r[0], DeploymentStatus(r[1])) for r in rows]


def fail_orphaned_in_flight(db: Database, reason: str, *, keep: set[str]) -> list[str]:
    """Fail in-flight deployments that no pending or running job will finish."""
    with db.transaction() as session:
        rows = session.scalars(
            select(Deployment).where(Deployment.status.in_([s.value for s in IN_FLIGHT]))
        ).all()
        failed = [r for r in rows if r.id not in keep]
        for row in failed:
            row.status, row.failure_reason, row.finished_at = (
                DeploymentStatus.FAILED,
                reason,
                utcnow(),
            )
        return [r.id for r in failed]
