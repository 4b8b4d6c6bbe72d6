"""Authorization lookups: resolve names to rows only within the caller's teams.

The one place where tenancy is enforced for reads and writes. An object of a team the caller
does not belong to is reported exactly like a missing one (404), so ids and names of other
tenants cannot be probed. A member whose role is too weak gets 403.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from kubidu.core.errors import Forbidden, InvalidInput, NotFound
from kubidu.core.names import validate_name
from kubidu.core.states import Role, role_allows
from kubidu.services.context import Actor
from kubidu.store.models import Deployment, Environment, Membership, Project, Service, Team


@dataclass(frozen=True)
class ServiceRef:
    """A service with the rows above it, loaded in one go."""

    team: Team
    project: Project
    environment: Environment
    service: Service


def membership(session: Session, actor: Actor, team_id: str) -> Role | None:
    row = session.get(Membership, (team_id, actor.user_id))
    return Role(row.role) if row else None


def require_role(session: Session, actor: Actor, team_id: str, needed: Role) -> None:
    role = membership(session, actor, team_id)
    if role is None:
        raise NotFound("not found")
    if not role_allows(role, needed):
        raise Forbidden(f"your role ({role}) does not allow this; it needs {needed} or above")


def resolve_team(session: Session, actor: Actor, team: str | None, needed: Role) -> Team:
    """The named team, or the caller's first team when ``team`` is None."""
    query = select(Team).join(Membership).where(Membership.user_id == actor.user_id)
    if team is not None:
        query = query.where(Team.name == team)
    found = session.scalars(query.order_by(Team.created_at, Team.id).limit(1)).first()
    if found is None:
        raise NotFound(f"team {team!r} not found" if team else "you are not in any team")
    require_role(session, actor, found.id, needed)
    return found


def project(
    session: Session, actor: Actor, name: str, *, team: str | None, needed: Role
) -> Project:
    validate_name(name, kind="project")
    owner = resolve_team(session, actor, team, Role.VIEWER)
    found = session.scalars(
        select(Project).where(Project.team_id == owner.id, Project.name == name)
    ).first()
    if found is None:
        raise NotFound(f"project {name!r} not found")
    require_role(session, actor, owner.id, needed)
    return found


def environment(session: Session, project_row: Project, name: str) -> Environment:
    validate_name(name, kind="environment")
    found = session.scalars(
        select(Environment).where(
            Environment.project_id == project_row.id, Environment.name == name
        )
    ).first()
    if found is None:
        raise NotFound(f"environment {name!r} not found in project {project_row.name!r}")
    return found


def service(
    session: Session,
    actor: Actor,
    path: tuple[str, str, str],
    *,
    team: str | None,
    needed: Role,
) -> ServiceRef:
    """Resolve ``(project, environment, service)`` names for the caller."""
    project_name, env_name, service_name = path
    proj = project(session, actor, project_name, team=team, needed=needed)
    env = environment(session, proj, env_name)
    validate_name(service_name, kind="service")
    found = session.scalars(
        select(Service).where(Service.environment_id == env.id, Service.name == service_name)
    ).first()
    if found is None:
        raise NotFound(f"service {service_name!r} not found in {project_name}/{env_name}")
    return ServiceRef(team=proj.team, project=proj, environment=env, service=found)


def deployment(session: Session, actor: Actor, deployment_id: str, needed: Role) -> Deployment:
    """A deployment by id, if the caller's team owns it."""
    if len(deployment_id) > 32 or not deployment_id.isascii():
        raise InvalidInput("malformed deployment id")
    found = session.get(Deployment, deployment_id)
    if found is None:
        raise NotFound(f"deployment {deployment_id!r} not found")
    team_id = found.service.environment.project.team_id
    if membership(session, actor, team_id) is None:
        raise NotFound(f"deployment {deployment_id!r} not found")
    require_role(session, actor, team_id, needed)
    return found
