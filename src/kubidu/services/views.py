"""Plain, immutable views of rows that use-cases return to the entry points.

Entry points (API, dashboard) render these; they never see ORM objects, so nothing lazy-loads
after the transaction has ended.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kubidu.store.models import Deployment, Environment, Project, Service

IMAGE_KIND = "image"  # app_kind of a deployment of a pre-built image (services/image_deploys.py)


@dataclass(frozen=True)
class ProjectView:
    id: str
    name: str
    team: str
    created_at: datetime
    environments: tuple[str, ...]


@dataclass(frozen=True)
class EnvironmentView:
    id: str
    name: str
    project: str


@dataclass(frozen=True)
class DeploymentView:
    id: str
    service: str
    status: str
    created_at: datetime
    finished_at: datetime | None
    message: str | None
    app_kind: str | None
    command: tuple[str, ...] | None
    failure_reason: str | None
    rollback_from: str | None
    url: str
    trigger: str
    created_by: str | None  # e-mail of who started it; None for the platform itself
    duration_s: float | None
    can_rollback: bool  # went live before, and its artifact is still kept
    image: str | None = None  # the image reference of an image deployment (``deploy --image``)


@dataclass(frozen=True)
class ServiceView:
    id: str
    name: str
    project: str
    environment: str
    hostname: str
    url: str
    replicas: int
    health_path: str | None
    cpu_limit: float | None
    memory_limit_mb: int | None
    status: str
    deployment_id: str | None
    deployment_status: str | None
    created_at: datetime


def project_view(row: Project, environments: list[str]) -> ProjectView:
    return ProjectView(row.id, row.name, row.team.name, row.created_at, tuple(environments))


def environment_view(row: Environment) -> EnvironmentView:
    return EnvironmentView(row.id, row.name, row.project.name)


def deployment_view(row: Deployment, *, url: str) -> DeploymentView:
    return DeploymentView(
        id=row.id,
        service=row.service.name,
        status=row.status,
        created_at=row.created_at,
        finished_at=row.finished_at,
        message=row.message,
        app_kind=row.app_kind,
        command=tuple(row.command) if row.command is not None else None,
        failure_reason=row.failure_reason,
        rollback_from=row.rollback_from,
        url=url,
        trigger=row.trigger,
        created_by=row.creator.email if row.creator else None,
        duration_s=_duration(row),
        can_rollback=row.status == "superseded"
        and not row.artifact_pruned
        and row.artifact is not None,
        image=row.artifact if row.app_kind == IMAGE_KIND else None,
    )


def _duration(row: Deployment) -> float | None:
    if row.finished_at is None:
        return None
    return round((row.finished_at - row.created_at).total_seconds(), 2)


def service_view(row: Service, *, url: str, status: str, latest: Deployment | None) -> ServiceView:
    return ServiceView(
        id=row.id,
        name=row.name,
        project=row.environment.project.name,
        environment=row.environment.name,
        hostname=row.hostname,
        url=url,
        replicas=row.replicas,
        health_path=row.health_path,
        cpu_limit=row.cpu_limit,
        memory_limit_mb=row.memory_limit_mb,
        status=status,
        deployment_id=row.active_deployment_id,
        deployment_status=latest.status if latest else None,
        created_at=row.created_at,
    )
