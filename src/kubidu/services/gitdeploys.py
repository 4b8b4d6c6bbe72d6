"""Recording a deployment of a git commit: the sibling of ``deployments.create_from_upload``.

Called by use-cases that have already authorized the caller or the webhook (``gitpush``,
``github``, ``previews``): it takes the service row itself, seals the env snapshot, records the
commit and branch, enqueues the ``deploy`` job in the caller's transaction and moves the source
tarball into the platform's store last, so a rollback leaves nothing moved. The deploy pipeline
then builds it exactly like an upload.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from sqlalchemy.orm import Session

from kubidu.core.states import DeploymentStatus
from kubidu.services import audit, envvars
from kubidu.services.context import Actor, Platform
from kubidu.services.deployments import env_context
from kubidu.store import jobs
from kubidu.store.models import Deployment, Service, new_id


def record(
    session: Session,
    p: Platform,
    *,
    service: Service,
    tarball: Path,
    commit: str,
    branch: str,
    actor: Actor | None,
    copy: bool = False,
) -> Deployment:
    """Add a queued deployment of ``tarball`` (moved, or copied when ``copy``) to ``service``."""
    deployment_id = new_id("dep")
    snapshot = envvars.resolve_for_service(
        session, p.keyring, environment_id=service.environment_id, service_id=service.id
    )
    key_id, blob = p.keyring.seal(json.dumps(snapshot).encode(), context=env_context(deployment_id))
    stored = p.uploads_dir / f"{deployment_id}.tar.gz"
    row = Deployment(
        id=deployment_id,
        service_id=service.id,
        service=service,
        status=DeploymentStatus.QUEUED,
        message=f"git {branch} {commit[:12]}",
        source_path=str(stored),
        replicas=service.replicas,
        health_path=service.health_path,
        env_ciphertext=blob,
        env_key_id=key_id,
        created_by=actor.user_id if actor else None,
        trigger="git",
        git_commit=commit,
        git_branch=branch,
    )
    session.add(row)
    jobs.enqueue(session, kind="deploy", payload={"deployment_id": deployment_id})
    audit.record(
        session,
        actor=actor,
        team_id=service.environment.project.team_id,
        action="deployment.create",
        obj=("deployment", deployment_id),
        details={"service": service.id, "commit": commit, "branch": branch},
    )
    session.flush()
    (shutil.copyfile if copy else shutil.move)(tarball, stored)
    return row
