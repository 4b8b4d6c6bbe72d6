"""Use-cases for deployments: create from an uploaded source, list, read, read build logs.

Creating a deployment stores the upload, seals a snapshot of the env vars it will run with,
enqueues a ``deploy`` job in the same transaction and wakes the workers only after commit.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kubidu.core.errors import InvalidInput
from kubidu.core.states import DeploymentStatus, Role
from kubidu.logs.model import LogQuery
from kubidu.services import access, audit, envvars
from kubidu.services.context import Actor, Platform
from kubidu.services.views import DeploymentView, deployment_view
from kubidu.store import jobs
from kubidu.store.models import Deployment, Service, new_id

MAX_LIST = 100


@dataclass(frozen=True)
class BuildLogLine:
    id: int
    at: datetime
    stream: str
    line: str


def env_context(deployment_id: str) -> str:
    """Associated data binding an env snapshot to its deployment."""
    return f"deployment-env:{deployment_id}"


def queue(
    session: Session,
    p: Platform,
    *,
    service: Service,
    actor: Actor | None,
    details: dict[str, Any],
    **fields: Any,
) -> Deployment:
    """Add a queued deployment of ``service`` in the caller's transaction: it seals a snapshot
    of the env vars it will run with, enqueues its ``deploy`` job and audits it. ``fields`` say
    where it comes from (``source_path``, or an ``artifact`` that skips the build...)."""
    deployment_id = fields.pop("id", None) or new_id("dep")
    snapshot = envvars.resolve_for_service(
        session, p.keyring, environment_id=service.environment_id, service_id=service.id
    )
    key_id, blob = p.keyring.seal(json.dumps(snapshot).encode(), context=env_context(deployment_id))
    row = Deployment(
        id=deployment_id,
        service_id=service.id,
        service=service,
        status=DeploymentStatus.QUEUED,
        replicas=service.replicas,
        health_path=service.health_path,
        env_ciphertext=blob,
        env_key_id=key_id,
        created_by=actor.user_id if actor else None,
        **fields,
    )
    session.add(row)
    jobs.enqueue(session, kind="deploy", payload={"deployment_id": deployment_id})
    audit.record(
        session,
        actor=actor,
        team_id=service.environment.project.team_id,
        action="deployment.create",
        obj=("deployment", deployment_id),
        details={"service": service.id, **details},
    )
    session.flush()
    return row


def create_from_upload(
    p: Platform,
    *,
    actor: Actor,
    path: tuple[str, str, str],
    upload: Path,
    message: str | None = None,
    team: str | None = None,
) -> DeploymentView:
    """Queue a build+deploy of ``upload`` (a gzip tarball, moved into the platform's store)."""
    if message is not None and len(message) > 500:
        raise InvalidInput("message is longer than 500 characters")
    deployment_id = new_id("dep")
    stored = p.uploads_dir / f"{deployment_id}.tar.gz"
    with p.db.transaction() as session:
        ref = access.service(session, actor, path, team=team, needed=Role.MEMBER)
        row = queue(
            session,
            p,
            service=ref.service,
            actor=actor,
            details={},
            id=deployment_id,
            message=message,
            source_path=str(stored),
        )
        shutil.move(upload, stored)  # last: a failure above rolls back with nothing moved
        view = deployment_view(row, url=p.service_url(ref.service.hostname))
    p.wake_workers()
    return view


def list_deployments(
    p: Platform, *, actor: Actor, path: tuple[str, str, str], team: str | None = None
) -> list[DeploymentView]:
    """Newest first."""
    with p.db.transaction() as session:
        ref = access.service(session, actor, path, team=team, needed=Role.VIEWER)
        rows = session.scalars(
            select(Deployment)
            .where(Deployment.service_id == ref.service.id)
            .order_by(Deployment.created_at.desc())
            .limit(MAX_LIST)
        ).all()
        url = p.service_url(ref.service.hostname)
        return [deployment_view(r, url=url) for r in rows]


def get_deployment(p: Platform, *, actor: Actor, deployment_id: str) -> DeploymentView:
    with p.db.transaction() as session:
        row = access.deployment(session, actor, deployment_id, Role.VIEWER)
        return deployment_view(row, url=p.service_url(row.service.hostname))


def build_log(
    p: Platform, *, actor: Actor, deployment_id: str, after: int = 0, limit: int = 1000
) -> tuple[list[BuildLogLine], DeploymentView]:
    """A page of build-log lines (id > ``after``) and the deployment's current state."""
    with p.db.transaction() as session:
        row = access.deployment(session, actor, deployment_id, Role.VIEWER)
        view = deployment_view(row, url=p.service_url(row.service.hostname))
        service_id = row.service_id
    query = LogQuery(
        service_id=service_id,
        deployment_id=deployment_id,
        source="build",
        after_id=after,
        limit=limit,
    )
    lines = p.logs.search(query)
    return [BuildLogLine(r.id, r.at, r.stream, r.line) for r in lines], view


def latest_deployment_id(
    p: Platform, *, actor: Actor, path: tuple[str, str, str], team: str | None = None
) -> str | None:
    views = list_deployments(p, actor=actor, path=path, team=team)
    return views[0].id if views else None
