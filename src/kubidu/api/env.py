"""API routes for environment variables of a service or shared by an environment."""

from __future__ import annotations

from fastapi import APIRouter, Query

from kubidu.api.deps import ActorDep, PlatformDep
from kubidu.api.schemas import EnvChange
from kubidu.services import envvars
from kubidu.services.context import Actor, Platform
from kubidu.services.envvars import EnvVarView

router = APIRouter()
_SERVICE = "/projects/{project}/environments/{env}/services/{service}/env"
_ENVIRONMENT = "/projects/{project}/environments/{env}/env"


@router.get(_SERVICE, response_model=list[EnvVarView])
def service_env(
    project: str,
    env: str,
    service: str,
    p: PlatformDep,
    actor: ActorDep,
    reveal: bool = False,
    team: str | None = Query(default=None),
) -> object:
    return envvars.list_vars(p, actor=actor, path=(project, env, service), reveal=reveal, team=team)


@router.put(_SERVICE, response_model=list[EnvVarView])
def change_service_env(
    project: str,
    env: str,
    service: str,
    body: EnvChange,
    p: PlatformDep,
    actor: ActorDep,
    team: str | None = Query(default=None),
) -> object:
    return _change(p, actor, (project, env, service), body, team)


@router.get(_ENVIRONMENT, response_model=list[EnvVarView])
def shared_env(
    project: str,
    env: str,
    p: PlatformDep,
    actor: ActorDep,
    reveal: bool = False,
    team: str | None = Query(default=None),
) -> object:
    return envvars.list_vars(p, actor=actor, path=(project, env), reveal=reveal, team=team)


@router.put(_ENVIRONMENT, response_model=list[EnvVarView])
def change_shared_env(
    project: str,
    env: str,
    body: EnvChange,
    p: PlatformDep,
    actor: ActorDep,
    team: str | None = Query(default=None),
) -> object:
    return _change(p, actor, (project, env), body, team)


def _change(
    p: Platform, actor: Actor, path: tuple[str, ...], body: EnvChange, team: str | None
) -> object:
    return envvars.change_vars(
        p,
        actor=actor,
        path=path,
        set_vars=body.set,
        unset=body.unset,
        secret=body.secret,
        team=team,
    )
