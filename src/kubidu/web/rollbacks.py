"""Rolling a service back from the dashboard: the confirmation step and the action.

Registered by ``app.py``. The service page's "Rollback" buttons link to
``/projects/{p}/{env}/{svc}/rollback?target=ID``, a confirmation page; with JavaScript,
``static/service.js`` shows the same confirmation in a dialog instead. Either way the action
is a CSRF-protected POST to that path, which calls ``services.rollback.rollback`` and redirects
to the new deployment's page, where its log and status stream live.

When the rollback is refused for a reason the user can act on (a deploy still in progress,
a pruned release) the confirmation page is shown again with the reason.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from kubidu.core.errors import Conflict, InvalidInput, NotFound
from kubidu.services import deployments, projects, rollback
from kubidu.services.views import DeploymentView
from kubidu.web.render import Renderer
from kubidu.web.session import Sessions, WebUser, check_csrf, redirect


def add_rollback_routes(router: APIRouter, sessions: Sessions, renderer: Renderer) -> None:
    p = sessions.platform
    path_of = "/projects/{project}/{env}/{service}/rollback"

    @router.get(path_of)
    async def confirm_page(
        request: Request, project: str, env: str, service: str, target: str = ""
    ) -> Response:
        user = await run_in_threadpool(sessions.user, request)
        context = await _confirm_context(sessions, user, (project, env, service), target)
        return renderer.page(request, "rollback.html", context)

    @router.post(path_of)
    async def roll_back(
        request: Request,
        project: str,
        env: str,
        service: str,
        target: Annotated[str, Form()] = "",
        csrf_token: Annotated[str, Form()] = "",
    ) -> Response:
        user = await run_in_threadpool(sessions.user, request)
        check_csrf(user.csrf_token, csrf_token)
        if not target:
            raise InvalidInput("say which deployment to roll back to (target)")
        path = (project, env, service)
        try:
            view = await run_in_threadpool(
                lambda: rollback.rollback(p, actor=user.actor, path=path, target_id=target)
            )
        except (Conflict, InvalidInput) as exc:
            context = await _confirm_context(sessions, user, path, target)
            context["error"] = exc.message
            return renderer.page(request, "rollback.html", context, status_code=exc.status_code)
        return redirect(f"/deployments/{view.id}")


async def _confirm_context(
    sessions: Sessions, user: WebUser, path: tuple[str, str, str], target_id: str
) -> dict[str, Any]:
    p, actor = sessions.platform, user.actor
    service = await projects.get_service(p, actor=actor, path=path)
    history = await run_in_threadpool(deployments.list_deployments, p, actor=actor, path=path)
    return {
        "user": user,
        "csrf_token": user.csrf_token,
        "service": service,
        "target": _find(history, target_id),
        "error": None,
    }


def _find(history: list[DeploymentView], target_id: str) -> DeploymentView:
    found = next((d for d in history if d.id == target_id), None)
    if found is None:
        raise NotFound(f"deployment {target_id!r} not found for this service")
    return found
