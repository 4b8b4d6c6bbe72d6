"""The live log view of a service: a filter form, and the stream it reads.

Registered by ``app.py``. ``/projects/{p}/{env}/{svc}/logs`` renders the filters (search
text, time range, stream, deployment, replica) from its query string, so a filtered view is a
link one can share; ``static/logs.js`` then reads ``…/logs/stream`` with the same query
string as Server-Sent Events — the matching backlog, then new lines as they are written
(``services.logs.follow``) — and restarts that stream whenever a filter changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from kubidu.core.errors import InvalidInput
from kubidu.logs.model import STREAMS
from kubidu.services import deployments, projects
from kubidu.services import logs as log_service
from kubidu.services.logs import LogFilter
from kubidu.web import sse
from kubidu.web.render import Renderer
from kubidu.web.session import Sessions, WebUser

RANGES = {
    "15m": ("last 15 minutes", timedelta(minutes=15)),
    "1h": ("last hour", timedelta(hours=1)),
    "6h": ("last 6 hours", timedelta(hours=6)),
    "24h": ("last 24 hours", timedelta(hours=24)),
    "7d": ("last 7 days", timedelta(days=7)),
}
DEFAULT_RANGE = "1h"
GREP_MAX = 200  # the use-case's limit, also the input's maxlength
NAME_MAX = 64


@dataclass(frozen=True)
class LogParams:
    """The view's filters as they appear in its query string ("" = any)."""

    since: str = DEFAULT_RANGE
    grep: str = ""
    stream: str = ""
    deployment: str = ""
    replica: str = ""

    @classmethod
    def parse(cls, request: Request) -> LogParams:
        """From the query string (read here, not by FastAPI, so a bad value renders as an
        error page): a value out of range is a 422 with the reason."""
        q = request.query_params
        params = cls(
            since=q.get("since") or DEFAULT_RANGE,
            grep=(q.get("grep") or "").strip(),
            stream=q.get("stream") or "",
            deployment=(q.get("deployment") or "").strip(),
            replica=(q.get("replica") or "").strip(),
        )
        params.check()
        return params

    def check(self) -> None:
        if self.since not in RANGES:
            raise InvalidInput(f"time range must be one of {', '.join(RANGES)}")
        if self.stream and self.stream not in STREAMS:
            raise InvalidInput(f"stream must be one of {', '.join(STREAMS)}")
        if len(self.grep) > GREP_MAX:
            raise InvalidInput(f"the search text must be at most {GREP_MAX} characters")
        if len(self.deployment) > NAME_MAX or len(self.replica) > NAME_MAX:
            raise InvalidInput(f"deployment and replica must be at most {NAME_MAX} characters")

    def to_filter(self) -> LogFilter:
        return LogFilter(
            since=datetime.now(UTC) - RANGES[self.since][1],
            grep=self.grep or None,
            stream=self.stream or None,
            deployment_id=self.deployment or None,
            replica=self.replica or None,
        )


def add_log_routes(router: APIRouter, sessions: Sessions, renderer: Renderer) -> None:
    p = sessions.platform
    base = "/projects/{project}/{env}/{service}/logs"

    @router.get(base)
    async def log_page(request: Request, project: str, env: str, service: str) -> Response:
        user = await run_in_threadpool(sessions.user, request)
        params = LogParams.parse(request)
        context = await _page_context(sessions, user, (project, env, service), params)
        return renderer.page(request, "logs.html", context)

    @router.get(base + "/stream")
    async def log_stream(request: Request, project: str, env: str, service: str) -> Response:
        user = await run_in_threadpool(sessions.user, request)
        wanted = LogParams.parse(request).to_filter()
        items = await run_in_threadpool(
            lambda: log_service.follow(
                p, actor=user.actor, path=(project, env, service), wanted=wanted
            )
        )
        return sse.response(sse.item_events(items))


async def _page_context(
    sessions: Sessions, user: WebUser, path: tuple[str, str, str], params: LogParams
) -> dict[str, Any]:
    p, actor = sessions.platform, user.actor
    service = await projects.get_service(p, actor=actor, path=path)
    history = await run_in_threadpool(deployments.list_deployments, p, actor=actor, path=path)
    return {
        "user": user,
        "csrf_token": user.csrf_token,
        "service": service,
        "deployments": history,
        "params": params,
        "ranges": RANGES,
        "streams": STREAMS,
        "grep_max": GREP_MAX,
    }
