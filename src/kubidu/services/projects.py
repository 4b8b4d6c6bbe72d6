"""Use-cases for projects, environments and services: create, list, read, update."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from kubidu.core.errors import Conflict, InvalidInput
from kubidu.core.names import generated_hostname_label, validate_name
from kubidu.core.states import IN_FLIGHT, DeploymentStatus, Role
from kubidu.runtimes.base import ReplicaState
from kubidu.services import access, audit
from kubidu.services.context import Actor, Platform
from kubidu.services.views import (
    EnvironmentView,
    ProjectView,
    ServiceView,
    environment_view,
    project_view,
    service_view,
)
from kubidu.store.models import Deployment, Environment, Project, Service, new_id

DEFAULT_ENVIRONMENT = "production"
MAX_REPLICAS = 20
MIN_CPU, MAX_CPU = 0.01, 64.0
MIN_MEMORY_MB, MAX_MEMORY_MB = 16, 65536  # below 16 MB nothing useful starts


def create_project(p: Platform, *, actor: Actor, name: str, team: str | None = None) -> ProjectView:
    validate_name(name, kind="project")
    with p.db.transaction() as session:
        owner = access.resolve_team(session, actor, team, Role.MEMBER)
        if session.scalars(
            select(Project).where(Project.team_id == owner.id, Project.name == name)
        ).first():
            raise Conflict(f"project {name!r} already exists")
        row = Project(id=new_id("prj"), team_id=owner.id, name=name, team=owner)
        session.add(row)
        session.add(Environment(id=new_id("env"), project_id=row.id, name=DEFAULT_ENVIRONMENT))
        audit.record(
            session,
            actor=actor,
            team_id=owner.id,
            action="project.create",
            obj=("project", row.id),
            details={"name": name},
        )
        return project_view(row, [DEFAULT_ENVIRONMENT])


def list_projects(p: Platform, *, actor: Actor, team: str | None = None) -> list[ProjectView]:
    with p.db.transaction() as session:
        owner = access.resolve_team(session, actor, team, Role.VIEWER)
        rows = session.scalars(
            select(Project).where(Project.team_id == owner.id).order_by(Project.name)
        ).all()
        return [project_view(r, _environment_names(session, r)) for r in rows]


def get_project(p: Platform, *, actor: Actor, name: str, team: str | None = None) -> ProjectView:
    with p.db.transaction() as session:
        row = access.project(session, actor, name, team=team, needed=Role.VIEWER)
        return project_view(row, _environment_names(session, row))


def _environment_names(session: Session, row: Project) -> list[str]:
    return list(
        session.scalars(
            select(Environment.name)
            .where(Environment.project_id == row.id)
            .order_by(Environment.name)
        ).all()
    )


def create_environment(
    p: Platform, *, actor: Actor, project: str, name: str, team: str | None = None
) -> EnvironmentView:
    validate_name(name, kind="environment")
    with p.db.transaction() as session:
        proj = access.project(session, actor, project, team=team, needed=Role.MEMBER)
        if name in _environment_names(session, proj):
            raise Conflict(f"environment {name!r} already exists")
        row = Environment(id=new_id("env"), project_id=proj.id, name=name, project=proj)
        session.add(row)
        audit.record(
            session,
            actor=actor,
            team_id=proj.team_id,
            action="environment.create",
            obj=("environment", row.id),
            details={"name": name},
        )
        return environment_view(row)


def create_service(
    p: Platform,
    *,
    actor: Actor,
    path: tuple[str, str],
    name: str,
    replicas: int = 1,
    health_path: str | None = None,
    team: str | None = None,
) -> ServiceView:
    validate_name(name, kind="service")
    _check_replicas(replicas)
    _check_health_path(health_path)
    with p.db.transaction() as session:
        proj = access.project(session, actor, path[0], team=team, needed=Role.MEMBER)
        env = access.environment(session, proj, path[1])
        if session.scalars(
            select(Service).where(Service.environment_id == env.id, Service.name == name)
        ).first():
            raise Conflict(f"service {name!r} already exists in {proj.name}/{env.name}")
        row = Service(
            id=new_id("svc"),
            environment_id=env.id,
            name=name,
            environment=env,
            hostname=_unique_hostname(session, p, name, env.name, proj.name),
            replicas=replicas,
            health_path=health_path,
            generation=0,
        )
        session.add(row)
        audit.record(
            session,
            actor=actor,
            team_id=proj.team_id,
            action="service.create",
            obj=("service", row.id),
            details={"name": name},
        )
        session.flush()
        return service_view(
            row, url=p.service_url(row.hostname), status="no-deployment", latest=None
        )


def _unique_hostname(session: Session, p: Platform, *names: str) -> str:
    service, environment, project = names
    label = generated_hostname_label(service=service, environment=environment, project=project)
    candidate = f"{label}.{p.base_domain}"
    while session.scalars(select(Service.id).where(Service.hostname == candidate)).first():
        candidate = f"{label}-{secrets.token_hex(2)}.{p.base_domain}"
    return candidate


def _check_replicas(replicas: int) -> None:
    if not 0 <= replicas <= MAX_REPLICAS:
        raise InvalidInput(f"replicas must be between 0 and {MAX_REPLICAS}")


def _check_limits(cpu: float | None, memory_mb: int | None) -> None:
    if cpu is not None and not MIN_CPU <= cpu <= MAX_CPU:
        raise InvalidInput(f"cpu must be between {MIN_CPU} and {MAX_CPU} CPUs")
    if memory_mb is not None and not MIN_MEMORY_MB <= memory_mb <= MAX_MEMORY_MB:
        raise InvalidInput(f"memory must be between {MIN_MEMORY_MB} and {MAX_MEMORY_MB} MB")


def _check_health_path(path: str | None) -> None:
    if path is not None and (
        not path.startswith("/") or len(path) > 200 or not path.isprintable() or " " in path
    ):
        raise InvalidInput("health_path must be an absolute URL path such as /healthz")


def list_services(
    p: Platform, *, actor: Actor, path: tuple[str, str], team: str | None = None
) -> list[ServiceView]:
    with p.db.transaction() as session:
        proj = access.project(session, actor, path[0], team=team, needed=Role.VIEWER)
        env = access.environment(session, proj, path[1])
        rows = session.scalars(
            select(Service).where(Service.environment_id == env.id).order_by(Service.name)
        ).all()
        return [_view(session, p, r, observed_running=None) for r in rows]


async def get_service(
    p: Platform, *, actor: Actor, path: tuple[str, str, str], team: str | None = None
) -> ServiceView:
    """The service's status object; asks the runtime how many replicas really run."""
    with p.db.transaction() as session:
        ref = access.service(session, actor, path, team=team, needed=Role.VIEWER)
        active = ref.service.active_deployment_id
    running = await _running_replicas(p, ref.service.id, active)
    with p.db.transaction() as session:
        return _view(session, p, session.get_one(Service, ref.service.id), running)


async def _running_replicas(p: Platform, service_id: str, deployment_id: str | None) -> int:
    if deployment_id is None:
        return 0
    replicas = await p.runtime.observe(service_id)
    return sum(
        1 for r in replicas if r.deployment_id == deployment_id and r.state == ReplicaState.RUNNING
    )


def update_service(
    p: Platform,
    *,
    actor: Actor,
    path: tuple[str, str, str],
    replicas: int | None = None,
    health_path: str | None = None,
    cpu_limit: float | None = None,
    memory_limit_mb: int | None = None,
    team: str | None = None,
) -> ServiceView:
    """Change scale, limits or health path; the reconciler applies them within seconds."""
    if replicas is not None:
        _check_replicas(replicas)
    _check_health_path(health_path)
    _check_limits(cpu_limit, memory_limit_mb)
    with p.db.transaction() as session:
        ref = access.service(session, actor, path, team=team, needed=Role.MEMBER)
        row = ref.service
        changes: dict[str, object] = {
            "replicas": replicas,
            "health_path": health_path,
            "cpu_limit": cpu_limit,
            "memory_limit_mb": memory_limit_mb,
        }
        for field, value in changes.items():
            if value is not None:
                setattr(row, field, value)
        audit.record(
            session,
            actor=actor,
            team_id=ref.team.id,
            action="service.update",
            obj=("service", row.id),
            details={k: v for k, v in changes.items() if v is not None},
        )
        return _view(session, p, row, observed_running=None)


def latest_deployment(session: Session, service_id: str) -> Deployment | None:
    return session.scalars(
        select(Deployment)
        .where(Deployment.service_id == service_id)
        .order_by(Deployment.created_at.desc())
        .limit(1)
    ).first()


def _view(session: Session, p: Platform, row: Service, observed_running: int | None) -> ServiceView:
    latest = latest_deployment(session, row.id)
    active = session.get(Deployment, row.active_deployment_id) if row.active_deployment_id else None
    status = _status(latest, active, observed_running, wanted=row.replicas)
    return service_view(row, url=p.service_url(row.hostname), status=status, latest=latest)


def _status(
    latest: Deployment | None, active: Deployment | None, running: int | None, *, wanted: int
) -> str:
    if latest is not None and DeploymentStatus(latest.status) in IN_FLIGHT:
        return "deploying"
    if active is None:
        return "failed" if latest is not None else "no-deployment"
    serves_itself = active.app_kind == "static" or wanted == 0
    if running == 0 and not serves_itself:
        return "crashed"
    return "live"
