"""The service page's GitHub section: connect a repository, deploy a CI-gated push anyway.

Registered by ``app.py``. Both actions are CSRF-protected POSTs that call
``services/github.py`` (connect needs an admin of the team; the override is audited there)
and redirect back to the section. The token and the webhook secret are write-only: they go
to the use-case, which seals them, and are never put back into a page — not even into the
form shown again after a refusal (invalid repository, branch or clone URL: 422).

``GET …/github/pending`` renders only the pending deployments; ``static/service.js``
re-fetches it while a push waits for CI or deploys (``X-Kubidu-Poll``, as for domains).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from kubidu.core.errors import Conflict, InvalidInput
from kubidu.services import github
from kubidu.web import sections
from kubidu.web.pages import service_context
from kubidu.web.render import Renderer, service_url
from kubidu.web.sections import ServicePath
from kubidu.web.session import Sessions, WebUser, form_user, redirect

BASE = "/projects/{project}/{env}/{service}/github"
FormStr = Annotated[str, Form()]


@dataclass(frozen=True)
class ConnectForm:
    """What the user typed, minus the secrets: enough to fill the form in again."""

    repo: str = ""
    branch: str = "main"
    clone_url: str = ""
    wait_for_ci: bool = False
    previews: bool = False
    preview_secrets: bool = False


def add_github_routes(router: APIRouter, sessions: Sessions, renderer: Renderer) -> None:
    p = sessions.platform

    async def refused(
        request: Request,
        user: WebUser,
        path: ServicePath,
        exc: InvalidInput | Conflict,
        typed: ConnectForm | None = None,
    ) -> Response:
        base_url = renderer.base_url(request)
        context = await service_context(sessions, user, path, base_url=base_url)
        context.update(github_error=exc.message, github_form=typed)
        return renderer.page(request, "service.html", context, status_code=exc.status_code)

    @router.get(BASE + "/pending")
    def pending_list(request: Request, project: str, env: str, service: str) -> Response:
        user = sessions.user(request)
        path = (project, env, service)
        section = sections.github_section(p, user.actor, path, renderer.base_url(request))
        context = {"user": user, "csrf_token": user.csrf_token, "github": section}
        context.update(service_path=service_url(path), overridable=sections.OVERRIDABLE)
        response = renderer.page(request, "_pending_list.html", context)
        response.headers["X-Kubidu-Poll"] = str(section.poll_ms)
        return response

    @router.post(BASE)
    async def connect(
        request: Request,
        project: str,
        env: str,
        service: str,
        repo: FormStr = "",
        token: FormStr = "",
        webhook_secret: FormStr = "",
        branch: FormStr = "",
        clone_url: FormStr = "",
        wait_for_ci: FormStr = "",
        previews: FormStr = "",
        preview_secrets: FormStr = "",
        csrf_token: FormStr = "",
    ) -> Response:
        user = await form_user(sessions, request, csrf_token)
        path = (project, env, service)
        typed = ConnectForm(
            repo=repo.strip(),
            branch=branch.strip() or "main",
            clone_url=clone_url.strip(),
            wait_for_ci=bool(wait_for_ci),  # a checkbox sends its value only when ticked
            previews=bool(previews),
            preview_secrets=bool(preview_secrets),
        )
        try:
            await run_in_threadpool(_connect, sessions, user, path, typed, (token, webhook_secret))
        except (InvalidInput, Conflict) as exc:
            return await refused(request, user, path, exc, typed)
        return redirect(service_url(path, "github"))

    @router.post(BASE + "/pending/{pending_id}/deploy")
    async def deploy_anyway(
        request: Request,
        project: str,
        env: str,
        service: str,
        pending_id: str,
        csrf_token: FormStr = "",
    ) -> Response:
        user = await form_user(sessions, request, csrf_token)
        path = (project, env, service)
        try:
            await run_in_threadpool(
                lambda: github.override(p, actor=user.actor, path=path, pending_id=pending_id)
            )
        except (InvalidInput, Conflict) as exc:
            return await refused(request, user, path, exc)
        return redirect(service_url(path, "github"))


def _connect(
    sessions: Sessions,
    user: WebUser,
    path: ServicePath,
    typed: ConnectForm,
    secrets: tuple[str, str],
) -> github.ConnectionView:
    token, webhook_secret = secrets
    request = github.ConnectRequest(
        repo=typed.repo,
        token=token,
        webhook_secret=webhook_secret,
        branch=typed.branch,
        clone_url=typed.clone_url or None,
        wait_for_ci=typed.wait_for_ci,
        previews=typed.previews,
        preview_secrets=typed.preview_secrets,
    )
    return github.connect(sessions.platform, actor=user.actor, path=path, request=request)
