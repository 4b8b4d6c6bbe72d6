"""API routes for deployments (upload, list, read, rollback) and replicas. Logs: ``logs.py``."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, UploadFile

from kubidu.api import uploads
from kubidu.api.deps import ActorDep, PlatformDep
from kubidu.api.schemas import ImageDeployBody, RollbackBody
from kubidu.services import deployments, image_deploys, replicas
from kubidu.services import rollback as rollback_service
from kubidu.services.replicas import ReplicaView
from kubidu.services.views import DeploymentView

router = APIRouter()
_SERVICE = "/projects/{project}/environments/{env}/services/{service}"


@router.post(_SERVICE + "/deployments", status_code=202, response_model=DeploymentView)
async def create_deployment(
    request: Request,
    project: str,
    env: str,
    service: str,
    p: PlatformDep,
    actor: ActorDep,
    source: Annotated[UploadFile, File(description="gzip tarball of the app directory")],
    message: Annotated[str | None, Form()] = None,
    team: str | None = Query(default=None),
) -> object:
    limits: uploads.UploadLimits = request.app.state.upload_limits
    replicas.service_id(p, actor=actor, path=(project, env, service), team=team)  # 404 first
    path = await uploads.receive(source, into=p.uploads_dir, limits=limits)
    try:
        return await asyncio.to_thread(
            deployments.create_from_upload,
            p,
            actor=actor,
            path=(project, env, service),
            upload=path,
            message=message,
            team=team,
        )
    finally:
        path.unlink(missing_ok=True)


@router.post(_SERVICE + "/deployments/image", status_code=202, response_model=DeploymentView)
def create_image_deployment(
    project: str,
    env: str,
    service: str,
    body: ImageDeployBody,
    p: PlatformDep,
    actor: ActorDep,
    team: str | None = Query(default=None),
) -> object:
    """Deploy a pre-built container image (docker runtime): no upload, no build."""
    return image_deploys.create_from_image(
        p,
        actor=actor,
        path=(project, env, service),
        image=body.image,
        port=body.port,
        message=body.message,
        team=team,
    )


@router.get(_SERVICE + "/deployments", response_model=list[DeploymentView])
def list_deployments(
    project: str,
    env: str,
    service: str,
    p: PlatformDep,
    actor: ActorDep,
    team: str | None = Query(default=None),
) -> object:
    return deployments.list_deployments(p, actor=actor, path=(project, env, service), team=team)


@router.get("/deployments/{deployment_id}", response_model=DeploymentView)
def get_deployment(deployment_id: str, p: PlatformDep, actor: ActorDep) -> object:
    return deployments.get_deployment(p, actor=actor, deployment_id=deployment_id)


@router.get(_SERVICE + "/replicas", response_model=list[ReplicaView])
async def list_replicas(
    project: str,
    env: str,
    service: str,
    p: PlatformDep,
    actor: ActorDep,
    team: str | None = Query(default=None),
) -> object:
    return await replicas.list_replicas(p, actor=actor, path=(project, env, service), team=team)


@router.post(_SERVICE + "/rollback", status_code=202, response_model=DeploymentView)
def rollback(
    project: str,
    env: str,
    service: str,
    p: PlatformDep,
    actor: ActorDep,
    body: RollbackBody | None = None,
    team: str | None = Query(default=None),
) -> object:
    target = body.deployment_id if body else None
    return rollback_service.rollback(
        p, actor=actor, path=(project, env, service), target_id=target, team=team
    )
