"""Use-cases behind ``git push kubidu <branch>``: who may use a repository, what a push deploys,
and which branch each environment tracks.

The git remote of a service is per project (``/git/<project>/<service>.git``); a push of branch
B deploys the service in every environment of the project that tracks B (production tracks
``main`` unless told otherwise; other environments track nothing until set).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from kubidu.core.errors import NotFound
from kubidu.core.gitrefs import validate_branch, validate_sha
from kubidu.core.names import validate_name
from kubidu.core.states import Role
from kubidu.services import access, audit, gitdeploys
from kubidu.services.context import Actor, Platform
from kubidu.services.views import DeploymentView, deployment_view
from kubidu.store.models import Environment, Project, Service

PRODUCTION = "production"
DEFAULT_BRANCH = "main"


@dataclass(frozen=True)
class RepoRef:
    project_id: str
    project: str
    service: str


def tracked_branch(env: Environment) -> str | None:
    if env.git_branch:
        return env.git_branch
    return DEFAULT_BRANCH if env.name == PRODUCTION else None


def repo_access(p: Platform, *, actor: Actor, project: str, service: str, write: bool) -> RepoRef:
    """The repository of ``project``/``service`` if the caller may fetch (viewer) or push
    (member); 404 when the service exists in none of the project's environments."""
    validate_name(service, kind="service")
    needed = Role.MEMBER if write else Role.VIEWER
    with p.db.transaction() as session:
        proj = access.project(session, actor, project, team=None, needed=needed)
        found = session.scalars(
            select(Service.id)
            .join(Environment)
            .where(Environment.project_id == proj.id, Service.name == service)
        ).first()
        if found is None:
            raise NotFound(f"service {service!r} not found in project {project!r}")
        return RepoRef(proj.id, proj.name, service)


def deploy_push(
    p: Platform, *, actor: Actor, repo: RepoRef, branch: str, sha: str, tarball: Path
) -> list[DeploymentView]:
    """Queue a deployment of ``sha`` in every environment tracking ``branch``."""
    validate_branch(branch)
    validate_sha(sha)
    with p.db.transaction() as session:
        access.require_role(session, actor, _team_id(session, repo), Role.MEMBER)
        targets = [
            svc
            for svc in session.scalars(
                select(Service)
                .join(Environment)
                .where(Environment.project_id == repo.project_id, Service.name == repo.service)
                .order_by(Environment.name)
            ).all()
            if tracked_branch(svc.environment) == branch
        ]
        views = []
        for index, svc in enumerate(targets):
            row = gitdeploys.record(
                session,
                p,
                service=svc,
                tarball=tarball,
                commit=sha,
                branch=branch,
                actor=actor,
                copy=index < len(targets) - 1,
            )
            views.append(deployment_view(row, url=p.service_url(svc.hostname)))
    p.wake_workers()
    return views


def _team_id(session: Session, repo: RepoRef) -> str:
    return session.get_one(Project, repo.project_id).team_id


def set_tracked_branch(
    p: Platform,
    *,
    actor: Actor,
    path: tuple[str, str],
    branch: str | None,
    team: str | None = None,
) -> str | None:
    """Make pushes of ``branch`` deploy the environment (None: production's default / none)."""
    if branch is not None:
        validate_branch(branch)
    with p.db.transaction() as session:
        proj = access.project(session, actor, path[0], team=team, needed=Role.MEMBER)
        env = access.environment(session, proj, path[1])
        env.git_branch = branch
        audit.record(
            session,
            actor=actor,
            team_id=proj.team_id,
            action="environment.git_branch",
            obj=("environment", env.id),
            details={"branch": branch},
        )
        return tracked_branch(env)
