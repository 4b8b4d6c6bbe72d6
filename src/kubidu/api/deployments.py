"""API routes for deployments (upload, list, read, build log), replicas and runtime logs.

Logs are streamed as NDJSON (one JSON object per line), which ``curl``, the CLI and browsers
can all consume incrementally.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import StreamingResponse

from kubidu.api import uploads
from kubidu.api.deps import ActorDep, PlatformDep
from kubidu.core.states import IN_FLIGHT, DeploymentStatus
from kubidu.services import deployments, replicas
from kubidu.services.context import Actor, Platform
from kubidu.services.replicas import ReplicaView
from kubidu.services.views import DeploymentView

router = APIRouter()
_SERVICE = "/projects/{project}/environments/{env}/services/{service}"
_NDJSON = "application/x-ndjson"
_POLL_S = 0.2


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


@router.get("/deployments/{deployment_id}/build-log")
def build_log(
    deployment_id: str, p: PlatformDep, actor: ActorDep, follow: bool = False
) -> StreamingResponse:
    deployments.get_deployment(p, actor=actor, deployment_id=deployment_id)  # 404 before 200
    return StreamingResponse(_build_log_stream(p, actor, deployment_id, follow), media_type=_NDJSON)


async def _build_log_stream(
    p: Platform, actor: Actor, deployment_id: str, follow: bool
) -> AsyncIterator[bytes]:
    after = 0
    while True:
        lines, view = await asyncio.to_thread(
            deployments.build_log, p, actor=actor, deployment_id=deployment_id, after=after
        )
        for line in lines:
            after = line.id
            yield _json_line(
                {
                    "at": line.at.isoformat(),
                    "stream": line.stream,
                    "line": line.line,
                    "deployment_id": deployment_id,
                }
            )
        if lines:
            continue
        if not follow or DeploymentStatus(view.status) not in IN_FLIGHT:
            break
        await asyncio.sleep(_POLL_S)
    if follow:
        yield _json_line(
            {
                "event": "end",
                "status": view.status,
                "failure_reason": view.failure_reason,
                "url": view.url,
            }
        )


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


@router.get(_SERVICE + "/logs")
def runtime_logs(
    project: str,
    env: str,
    service: str,
    p: PlatformDep,
    actor: ActorDep,
    since: float | None = Query(default=None, ge=0, description="seconds ago"),
    follow: bool = False,
    team: str | None = Query(default=None),
) -> StreamingResponse:
    start = datetime.now(UTC) - timedelta(seconds=since) if since is not None else None
    lines = replicas.runtime_logs(
        p, actor=actor, path=(project, env, service), since=start, follow=follow, team=team
    )
    return StreamingResponse(_runtime_log_stream(lines), media_type=_NDJSON)


async def _runtime_log_stream(lines: AsyncIterator[Any]) -> AsyncIterator[bytes]:
    async for line in lines:
        yield _json_line(
            {
                "at": line.timestamp.isoformat(),
                "stream": line.stream,
                "line": line.line,
                "replica": line.replica_id,
                "deployment_id": line.deployment_id,
            }
        )


def _json_line(value: dict[str, Any]) -> bytes:
    return (json.dumps(value) + "\n").encode()
