"""The rollback use-case: make an older deployment's release serve again, without a build.

A rollback is a new deployment that reuses the target's artifact, its env-var snapshot and its
config, and goes through the same health-gated, zero-downtime switch as any deploy. It records
``rollback_from`` and the trigger ``rollback``.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from kubidu.core.errors import Conflict, InvalidInput, NotFound
from kubidu.core.states import IN_FLIGHT, DeploymentStatus, Role
from kubidu.security.crypto import Keyring
from kubidu.services import access, audit
from kubidu.services.context import Actor, Platform
from kubidu.services.deployments import env_context
from kubidu.services.views import DeploymentView, deployment_view
from kubidu.store import jobs
from kubidu.store.models import Deployment, Service, new_id


def rollback(
    p: Platform,
    *,
    actor: Actor,
    path: tuple[str, str, str],
    target_id: str | None = None,
    team: str | None = None,
) -> DeploymentView:
    """Queue a rollback to ``target_id`` (default: the previous successful deployment)."""
    with p.db.transaction() as session:
        ref = access.service(session, actor, path, team=team, needed=Role.MEMBER)
        _refuse_while_deploying(session, ref.service)
        target = _target(session, ref.service, target_id)
        row = _copy(session, p.keyring, target, actor)
        jobs.enqueue(session, kind="deploy", payload={"deployment_id": row.id})
        audit.record(
            session,
            actor=actor,
            team_id=ref.team.id,
            action="deployment.rollback",
            obj=("deployment", row.id),
            details={"rollback_from": target.id},
        )
        view = deployment_view(row, url=p.service_url(ref.service.hostname))
    p.wake_workers()
    return view


def _refuse_while_deploying(session: Session, service: Service) -> None:
    running = session.scalars(
        select(Deployment.id).where(
            Deployment.service_id == service.id, Deployment.status.in_([s.value for s in IN_FLIGHT])
        )
    ).first()
    if running:
        raise Conflict(
            f"deployment {running} of this service is still in progress; "
            "roll back once it has finished"
        )


def _target(session: Session, service: Service, target_id: str | None) -> Deployment:
    target = _explicit(session, service, target_id) if target_id else _previous(session, service)
    if target.id == service.active_deployment_id:
        raise Conflict(f"deployment {target.id} is already live")
    if DeploymentStatus(target.status) != DeploymentStatus.SUPERSEDED:
        raise InvalidInput(
            f"deployment {target.id} never went live ({target.status}); "
            "only deployments that served traffic can be rolled back to"
        )
    if target.artifact_pruned or target.artifact is None:
        raise Conflict(
            f"the release of deployment {target.id} was pruned (only the newest "
            "successful deployments are kept); deploy it again instead"
        )
    return target


def _explicit(session: Session, service: Service, target_id: str) -> Deployment:
    found = session.get(Deployment, target_id) if len(target_id) <= 32 else None
    if found is None or found.service_id != service.id:
        raise NotFound(f"deployment {target_id!r} not found for this service")
    return found


def _previous(session: Session, service: Service) -> Deployment:
    found = session.scalars(
        select(Deployment)
        .where(
            Deployment.service_id == service.id, Deployment.status == DeploymentStatus.SUPERSEDED
        )
        .order_by(Deployment.created_at.desc())
        .limit(1)
    ).first()
    if found is None:
        raise Conflict("there is no previous deployment to roll back to")
    return found


def _copy(session: Session, keyring: Keyring, target: Deployment, actor: Actor) -> Deployment:
    row = Deployment(
        id=new_id("dep"),
        service_id=target.service_id,
        service=target.service,
        status=DeploymentStatus.QUEUED,
        trigger="rollback",
        rollback_from=target.id,
        message=f"rollback to {target.id}",
        artifact=target.artifact,
        app_kind=target.app_kind,
        command=target.command,
        build_env=target.build_env,
        port=target.port,
        replicas=target.replicas,
        health_path=target.health_path,
        created_by=actor.user_id,
    )
    if target.env_ciphertext is not None and target.env_key_id is not None:
        snapshot = keyring.open(
            target.env_key_id, target.env_ciphertext, context=env_context(target.id)
        )
        row.env_key_id, row.env_ciphertext = keyring.seal(snapshot, context=env_context(row.id))
    session.add(row)
    session.flush()
    return row
