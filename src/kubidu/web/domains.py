"""The service page's Domains section: add a custom domain, check it now, remove it.

Registered by ``app.py``; every action is a CSRF-protected POST under
``/projects/{p}/{env}/{svc}/domains`` that calls ``services/domains.py`` and redirects back to
the section. A refusal the user can act on — an invalid hostname (422), a name claimed
elsewhere (409) — shows the service page again with the reason beside the form and that
status code; anything else (another team's service: 404) is an error page, as everywhere.

``GET …/domains`` renders only the list: ``static/service.js`` re-fetches it while a domain
is on its way to ``active``, so the badge moves without a reload. Its ``X-Kubidu-Poll``
header says in how many milliseconds to look again (0: settled).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from kubidu.core.errors import Conflict, InvalidInput
from kubidu.services import domains
from kubidu.services.context import Actor, Platform
from kubidu.services.domains import DomainView
from kubidu.web import sections
from kubidu.web.pages import service_context
from kubidu.web.render import Renderer, service_url
from kubidu.web.sections import ServicePath
from kubidu.web.session import Sessions, WebUser, form_user, redirect

BASE = "/projects/{project}/{env}/{service}/domains"
MAX_HOSTNAME_FIELD = 1000  # the API's limit; the use-case gives the precise reason


def add_domain_routes(router: APIRouter, sessions: Sessions, renderer: Renderer) -> None:
    p = sessions.platform

    async def refused(
        request: Request, user: WebUser, path: ServicePath, exc: InvalidInput | Conflict, typed: str
    ) -> Response:
        base_url = renderer.base_url(request)
        context = await service_context(sessions, user, path, base_url=base_url)
        context.update(domain_error=exc.message, domain_input=typed[:MAX_HOSTNAME_FIELD])
        return renderer.page(request, "service.html", context, status_code=exc.status_code)

    async def act(
        request: Request,
        user: WebUser,
        path: ServicePath,
        action: Callable[[], object],
        typed: str = "",
    ) -> Response:
        """Run a use-case off the event loop; back to the section, or the page with the reason."""
        try:
            await run_in_threadpool(action)
        except (InvalidInput, Conflict) as exc:
            return await refused(request, user, path, exc, typed)
        return redirect(service_url(path, "domains"))

    @router.get(BASE)
    def domain_list(request: Request, project: str, env: str, service: str) -> Response:
        user = sessions.user(request)
        section = sections.domain_section(p, user.actor, (project, env, service))
        context = {"user": user, "csrf_token": user.csrf_token, "domains": section}
        context["service_path"] = service_url((project, env, service))
        response = renderer.page(request, "_domain_list.html", context)
        response.headers["X-Kubidu-Poll"] = str(section.poll_ms)
        return response

    @router.post(BASE)
    async def add(
        request: Request,
        project: str,
        env: str,
        service: str,
        hostname: Annotated[str, Form()] = "",
        csrf_token: Annotated[str, Form()] = "",
    ) -> Response:
        user = await form_user(sessions, request, csrf_token)
        path = (project, env, service)
        return await act(
            request,
            user,
            path,
            lambda: domains.add_domain(p, actor=user.actor, path=path, hostname=hostname),
            hostname,
        )

    @router.post(BASE + "/{hostname}/verify")
    async def verify(
        request: Request,
        project: str,
        env: str,
        service: str,
        hostname: str,
        csrf_token: Annotated[str, Form()] = "",
    ) -> Response:
        user = await form_user(sessions, request, csrf_token)
        path = (project, env, service)
        return await act(request, user, path, lambda: _verify(p, user.actor, path, hostname))

    @router.post(BASE + "/{hostname}/remove")
    async def remove(
        request: Request,
        project: str,
        env: str,
        service: str,
        hostname: str,
        csrf_token: Annotated[str, Form()] = "",
    ) -> Response:
        user = await form_user(sessions, request, csrf_token)
        path = (project, env, service)
        return await act(
            request,
            user,
            path,
            lambda: domains.remove_domain(p, actor=user.actor, path=path, hostname=hostname),
        )


def _verify(p: Platform, actor: Actor, path: ServicePath, hostname: str) -> DomainView:
    """ "Check now" in a worker thread with its own event loop: the use-case's database work
    is synchronous, and the DNS lookups may take seconds; neither should stall the server."""
    return asyncio.run(domains.verify_domain(p, actor=actor, path=path, hostname=hostname))
