"""API routes of the GitHub connection of a service, its pending deployments (wait for CI) and
the manual override, plus the git branch an environment tracks and the ``secret`` flag of env
vars (which previews do not copy)."""

from __future__ import annotations

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from kubidu.api.deps import ActorDep, PlatformDep
from kubidu.services import envsecrets, github, gitpush

router = APIRouter()
_SERVICE = "/projects/{project}/environments/{env}/services/{service}"
TeamQuery = Query(default=None, description="team name, when you belong to several")


class ConnectBody(BaseModel):
    repo: str = Field(max_length=200)
    token: str = Field(max_length=256)
    webhook_secret: str = Field(max_length=256)
    branch: str = Field(default="main", max_length=255)
    clone_url: str | None = Field(default=None, max_length=500)
    wait_for_ci: bool = False
    previews: bool = False
    preview_secrets: bool = False


class BranchBody(BaseModel):
    branch: str | None = Field(default=None, max_length=255)


class SecretBody(BaseModel):
    keys: list[str] = Field(max_length=200)
    secret: bool = True


@router.put(_SERVICE + "/github", response_model=github.ConnectionView)
def connect(
    project: str,
    env: str,
    service: str,
    body: ConnectBody,
    p: PlatformDep,
    actor: ActorDep,
    team: str | None = TeamQuery,
) -> object:
    request = github.ConnectRequest(**body.model_dump())
    return github.connect(p, actor=actor, path=(project, env, service), request=request, team=team)


@router.get(_SERVICE + "/github", response_model=github.ConnectionView)
def get_connection(
    project: str,
    env: str,
    service: str,
    p: PlatformDep,
    actor: ActorDep,
    team: str | None = TeamQuery,
) -> object:
    return github.get_connection(p, actor=actor, path=(project, env, service), team=team)


@router.get(_SERVICE + "/github/pending", response_model=list[github.PendingView])
def list_pending(
    project: str,
    env: str,
    service: str,
    p: PlatformDep,
    actor: ActorDep,
    team: str | None = TeamQuery,
) -> object:
    return github.list_pending(p, actor=actor, path=(project, env, service), team=team)


@router.post(_SERVICE + "/github/pending/{pending_id}/deploy", response_model=github.PendingView)
def override(
    project: str,
    env: str,
    service: str,
    pending_id: str,
    p: PlatformDep,
    actor: ActorDep,
    team: str | None = TeamQuery,
) -> object:
    return github.override(
        p, actor=actor, path=(project, env, service), pending_id=pending_id, team=team
    )


@router.put("/projects/{project}/environments/{env}/git-branch")
def set_branch(
    project: str,
    env: str,
    body: BranchBody,
    p: PlatformDep,
    actor: ActorDep,
    team: str | None = TeamQuery,
) -> dict[str, str | None]:
    tracked = gitpush.set_tracked_branch(
        p, actor=actor, path=(project, env), branch=body.branch, team=team
    )
    return {"environment": env, "branch": tracked}


@router.put("/projects/{project}/environments/{env}/env-secrets")
def mark_env_secrets(
    project: str,
    env: str,
    body: SecretBody,
    p: PlatformDep,
    actor: ActorDep,
    team: str | None = TeamQuery,
) -> dict[str, list[str]]:
    keys = envsecrets.mark(
        p, actor=actor, path=(project, env), keys=body.keys, secret=body.secret, team=team
    )
    return {"secret": keys}


@router.put(_SERVICE + "/env-secrets")
def mark_service_secrets(
    project: str,
    env: str,
    service: str,
    body: SecretBody,
    p: PlatformDep,
    actor: ActorDep,
    team: str | None = TeamQuery,
) -> dict[str, list[str]]:
    keys = envsecrets.mark(
        p, actor=actor, path=(project, env, service), keys=body.keys, secret=body.secret, team=team
    )
    return {"secret": keys}
