"""API routes for logs: search and follow a service's logs, read or follow a build log.

Streams are Server-Sent Events when the client asks for ``text/event-stream`` (browsers'
EventSource, the CLI), else NDJSON (one JSON object per line, handy with curl). Besides log
lines a stream may carry ``dropped`` events (lines a lagging reader skipped) and, for a
followed build log, one final ``end`` event with the deployment's outcome.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from kubidu.api.deps import ActorDep, PlatformDep
from kubidu.logs.model import StoredLine
from kubidu.services import deployments
from kubidu.services import logs as log_service
from kubidu.services.context import Actor, Platform

router = APIRouter()
_SERVICE = "/projects/{project}/environments/{env}/services/{service}"
_SSE = "text/event-stream"
_NDJSON = "application/x-ndjson"


@router.get(_SERVICE + "/logs")
def service_logs(
    request: Request,
    project: str,
    env: str,
    service: str,
    p: PlatformDep,
    actor: ActorDep,
    since: float | None = Query(default=None, ge=0, description="seconds ago"),
    until: float | None = Query(default=None, ge=0, description="seconds ago"),
    grep: str | None = Query(default=None, description="case-insensitive substring"),
    deployment: str | None = None,
    replica: str | None = None,
    stream: str | None = Query(default=None, description="stdout | stderr | system | build"),
    limit: int = 1000,
    follow: bool = False,
    team: str | None = Query(default=None),
) -> StreamingResponse:
    wanted = log_service.LogFilter(
        since=_ago(since),
        until=_ago(until),
        grep=grep,
        deployment_id=deployment,
        replica=replica,
        stream=stream,
        limit=limit,
    )
    path = (project, env, service)
    if follow:
        items = log_service.follow(p, actor=actor, path=path, wanted=wanted, team=team)
    else:
        items = _once(log_service.search(p, actor=actor, path=path, wanted=wanted, team=team))
    return _respond(request, items, end=None)


@router.get("/deployments/{deployment_id}/build-log")
def build_log(
    request: Request, deployment_id: str, p: PlatformDep, actor: ActorDep, follow: bool = False
) -> StreamingResponse:
    items = log_service.build_log(p, actor=actor, deployment_id=deployment_id, follow_live=follow)
    end = _end_event(p, actor, deployment_id) if follow else None
    return _respond(request, items, end=end)


def _ago(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.now(UTC) - timedelta(seconds=seconds)


async def _once(lines: list[StoredLine]) -> AsyncIterator[StoredLine | int]:
    for line in lines:
        yield line


def _end_event(p: Platform, actor: Actor, deployment_id: str) -> Any:
    async def end() -> dict[str, Any]:
        view = await asyncio.to_thread(
            deployments.get_deployment, p, actor=actor, deployment_id=deployment_id
        )
        return {"status": view.status, "failure_reason": view.failure_reason, "url": view.url}

    return end


def _respond(
    request: Request, items: AsyncIterator[StoredLine | int], end: Any
) -> StreamingResponse:
    sse = _SSE in request.headers.get("accept", "")
    encode = _sse if sse else _ndjson
    return StreamingResponse(
        _encoded(items, end, encode),
        media_type=_SSE if sse else _NDJSON,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _encoded(
    items: AsyncIterator[StoredLine | int], end: Any, encode: Any
) -> AsyncIterator[bytes]:
    async for item in items:
        if isinstance(item, int):
            yield encode("dropped", {"skipped": item})
        else:
            yield encode("line", line_json(item))
    if end is not None:
        yield encode("end", await end())


def line_json(line: StoredLine) -> dict[str, Any]:
    return {
        "id": line.id,
        "at": line.at.isoformat(),
        "stream": line.stream,
        "source": line.source,
        "line": line.line,
        "replica": line.replica,
        "deployment_id": line.deployment_id,
    }


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def _ndjson(event: str, data: dict[str, Any]) -> bytes:
    record = data if event == "line" else {"event": event, **data}
    return (json.dumps(record) + "\n").encode()
