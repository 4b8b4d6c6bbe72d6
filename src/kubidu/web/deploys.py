"""The deployment page and the JSON feed its log poller reads.

Registered by ``app.py``. ``/deployments/{id}`` renders the status and the build log so far;
``static/deployment.js`` then polls ``/deployments/{id}/log?after=N`` for newer lines while
the deployment is in flight (queued, building, deploying) and stops once it has settled.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import JSONResponse, Response

from kubidu.core.states import IN_FLIGHT
from kubidu.services import deployments
from kubidu.services.deployments import BuildLogLine
from kubidu.services.views import DeploymentView
from kubidu.web.render import Renderer, status_class, when
from kubidu.web.session import Sessions

PAGE_LINES = 5000
POLL_LINES = 1000


def in_flight(view: DeploymentView) -> bool:
    return view.status in {s.value for s in IN_FLIGHT}


def line_json(line: BuildLogLine) -> dict[str, Any]:
    return {"id": line.id, "at": when(line.at), "stream": line.stream, "line": line.line}


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

    @router.get("/deployments/{deployment_id}/log")
    def deployment_log(
        request: Request, deployment_id: str, after: Annotated[int, Query(ge=0)] = 0
    ) -> Response:
        user = sessions.user(request)
        lines, view = deployments.build_log(
            p, actor=user.actor, deployment_id=deployment_id, after=after, limit=POLL_LINES
        )
        body = {
            "status": view.status,
            "status_class": status_class(view.status),
            "failure_reason": view.failure_reason,
            "in_flight": in_flight(view),
            "lines": [line_json(line) for line in lines],
        }
        return JSONResponse(body)
