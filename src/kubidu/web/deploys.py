"""The deployment page and the live stream of its build log.

Registered by ``app.py``. ``/deployments/{id}`` renders the status and the build log so far;
while the deployment is in flight (queued, building, deploying) ``static/deployment.js`` opens
``/deployments/{id}/log/stream`` (Server-Sent Events): the build log's lines, a ``status``
event whenever the deployment moves on, and one ``end`` event with its outcome once it has
settled (live, failed, cancelled…), after which the stream closes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from kubidu.core.states import IN_FLIGHT
from kubidu.services import deployments
from kubidu.services import logs as log_service
from kubidu.services.context import Actor, Platform
from kubidu.services.logs import Item
from kubidu.services.views import DeploymentView
from kubidu.web import sse
from kubidu.web.render import Renderer, duration, status_class, when
from kubidu.web.session import Sessions

PAGE_LINES = 5000
STATUS_EVERY_S = 1.0  # how often, at most, the stream re-reads the deployment's status


def in_flight(view: DeploymentView) -> bool:
    return view.status in {s.value for s in IN_FLIGHT}


def status_json(view: DeploymentView) -> dict[str, Any]:
    """What the page updates when the deployment moves on."""
    return {
        "status": view.status,
        "status_class": status_class(view.status),
        "failure_reason": view.failure_reason,
        "finished": when(view.finished_at),
        "duration": duration(view.duration_s),
        "in_flight": in_flight(view),
    }


def add_deployment_routes(router: APIRouter, sessions: Sessions, renderer: Renderer) -> None:
    p = sessions.platform

    @router.get("/deployments/{deployment_id}")
    def deployment_page(request: Request, deployment_id: str) -> Response:
        user = sessions.user(request)
        lines, view = deployments.build_log(
            p, actor=user.actor, deployment_id=deployment_id, limit=PAGE_LINES
        )
        context = {
            "user": user,
            "csrf_token": user.csrf_token,
            "deployment": view,
            "lines": lines,
            "last_id": lines[-1].id if lines else 0,
            "in_flight": in_flight(view),
        }
        return renderer.page(request, "deployment.html", context)

    @router.get("/deployments/{deployment_id}/log/stream")
    async def deployment_log_stream(request: Request, deployment_id: str) -> Response:
        user = await run_in_threadpool(sessions.user, request)
        items = await run_in_threadpool(
            lambda: log_service.build_log(
                p, actor=user.actor, deployment_id=deployment_id, follow_live=True
            )
        )
        return sse.response(_build_events(p, user.actor, deployment_id, items))


async def _build_events(
    p: Platform, actor: Actor, deployment_id: str, items: AsyncIterator[Item]
) -> AsyncIterator[bytes]:
    """The build log's lines, a ``status`` event when the status changed (checked at most
    every STATUS_EVERY_S, after a line: status changes come with build-log lines), then
    ``end`` once the deployment has settled."""
    shown, checked = None, 0.0
    async for item in items:
        yield sse.item_event(item)
        if time.monotonic() - checked >= STATUS_EVERY_S:
            checked = time.monotonic()
            view = await _view(p, actor, deployment_id)
            if view.status != shown:
                shown = view.status
                yield sse.event("status", status_json(view))
    yield sse.event("end", status_json(await _view(p, actor, deployment_id)))


async def _view(p: Platform, actor: Actor, deployment_id: str) -> DeploymentView:
    return await asyncio.to_thread(
        deployments.get_deployment, p, actor=actor, deployment_id=deployment_id
    )
