"""API routes for identity, teams, users, projects, environments and services."""

from __future__ import annotations

from fastapi import APIRouter, Query

from kubidu.api.deps import ActorDep, PlatformDep
from kubidu.api.schemas import (
    NameBody,
    NewUser,
    ServiceBody,
    ServicePatch,
    TeamOut,
    UserBody,
    Whoami,
)
from kubidu.services import auth, projects
from kubidu.services.views import EnvironmentView, ProjectView, ServiceView

router = APIRouter()
TeamQuery = Query(default=None, description="team name, when you belong to several")


@router.get("/whoami", response_model=Whoami)
def whoami(p: PlatformDep, actor: ActorDep) -> Whoami:
    teams = [TeamOut(id=t.id, name=t.name, role=t.role) for t in auth.whoami(p, actor=actor)]
    return Whoami(user={"id": actor.user_id, "email": actor.email}, teams=teams)


@router.post("/teams", status_code=201, response_model=TeamOut)
def create_team(body: NameBody, p: PlatformDep, actor: ActorDep) -> TeamOut:
    team = auth.create_team(p, actor=actor, name=body.name)
    return TeamOut(id=team.id, name=team.name, role=team.role)


@router.post("/users", status_code=201, response_model=NewUser)
def create_user(body: UserBody, p: PlatformDep, actor: ActorDep) -> NewUser:
    user_id, token = auth.create_user(p, actor=actor, email=body.email, password=body.password)
    return NewUser(id=user_id, token=token)


@router.get("/projects", response_model=list[ProjectView])
def list_projects(p: PlatformDep, actor: ActorDep, team: str | None = TeamQuery) -> object:
    return projects.list_projects(p, actor=actor, team=team)


@router.post("/projects", status_code=201, response_model=ProjectView)
def create_project(
    body: NameBody, p: PlatformDep, actor: ActorDep, team: str | None = TeamQuery
) -> object:
    return projects.create_project(p, actor=actor, name=body.name, team=team)


@router.get("/projects/{project}", response_model=ProjectView)
def get_project(
    project: str, p: PlatformDep, actor: ActorDep, team: str | None = TeamQuery
) -> object:
    return projects.get_project(p, actor=actor, name=project, team=team)


@router.post("/projects/{project}/environments", status_code=201, response_model=EnvironmentView)
def create_environment(
    project: str, body: NameBody, p: PlatformDep, actor: ActorDep, team: str | None = TeamQuery
) -> object:
    return projects.create_environment(p, actor=actor, project=project, name=body.name, team=team)


@router.get("/projects/{project}/environments/{env}/services", response_model=list[ServiceView])
def list_services(
    project: str, env: str, p: PlatformDep, actor: ActorDep, team: str | None = TeamQuery
) -> object:
    return projects.list_services(p, actor=actor, path=(project, env), team=team)


@router.post(
    "/projects/{project}/environments/{env}/services", status_code=201, response_model=ServiceView
)
def create_service(
    project: str,
    env: str,
    body: ServiceBody,
    p: PlatformDep,
    actor: ActorDep,
    team: str | None = TeamQuery,
) -> object:
    return projects.create_service(
        p,
        actor=actor,
        path=(project, env),
        name=body.name,
        replicas=body.replicas,
        health_path=body.health_path,
        team=team,
    )


@router.get("/projects/{project}/environments/{env}/services/{service}", response_model=ServiceView)
async def get_service(
    project: str,
    env: str,
    service: str,
    p: PlatformDep,
    actor: ActorDep,
    team: str | None = TeamQuery,
) -> object:
    return await projects.get_service(p, actor=actor, path=(project, env, service), team=team)


@router.patch(
    "/projects/{project}/environments/{env}/services/{service}", response_model=ServiceView
)
def update_service(
    project: str,
    env: str,
    service: str,
    body: ServicePatch,
    p: PlatformDep,
    actor: ActorDep,
    team: str | None = TeamQuery,
) -> object:
    return projects.update_service(
        p,
        actor=actor,
        path=(project, env, service),
        replicas=body.replicas,
        health_path=body.health_path,
        cpu_limit=body.cpu,
        memory_limit_mb=body.memory_mb,
        team=team,
    )
