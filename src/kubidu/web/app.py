"""Builds the dashboard's router, which ``server.py`` mounts at ``/`` beside the JSON API.

:func:`create_web_router` wires the route modules (``session``, ``pages``, ``deploys``,
``rollbacks``, ``logview``, ``domains``, ``github``) to the platform. Every route goes
through :class:`_GuardedRoute`, which turns errors into pages: an expired or missing session
redirects to ``/login``; any other :class:`KubiduError` renders the error page with its
status code (another team's object is a 404, by the services' rule).
It also sets the security headers: the dashboard allows no framing, no inline scripts and no
caching (pages may show revealed secrets).
"""

from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.routing import APIRoute
from starlette.responses import FileResponse, Response

from kubidu.core.errors import KubiduError, NotFound, Unauthorized
from kubidu.services.context import Platform
from kubidu.web.deploys import add_deployment_routes
from kubidu.web.domains import add_domain_routes
from kubidu.web.github import add_github_routes
from kubidu.web.logview import add_log_routes
from kubidu.web.pages import add_page_routes
from kubidu.web.render import Renderer, make_templates
from kubidu.web.rollbacks import add_rollback_routes
from kubidu.web.session import LOGIN_PATH, Sessions, add_session_routes, redirect

STATIC_DIR = Path(__file__).parent / "static"
STATIC_FILES = {
    "style.css": "text/css",
    "deployment.js": "text/javascript",
    "service.js": "text/javascript",
    "logs.js": "text/javascript",
}
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def _guarded_route_class(renderer: Renderer) -> type[APIRoute]:
    """An APIRoute whose handler renders errors as pages (exception handlers are per app)."""

    class _GuardedRoute(APIRoute):
        def get_route_handler(self) -> Handler:
            handler = super().get_route_handler()

            async def guarded(request: Request) -> Response:
                response = await _render_errors(handler, request, renderer)
                response.headers.update(SECURITY_HEADERS)
                response.headers.setdefault("Cache-Control", "no-store")
                return response

            return guarded

    return _GuardedRoute


async def _render_errors(handler: Handler, request: Request, renderer: Renderer) -> Response:
    try:
        return await handler(request)
    except Unauthorized:
        return redirect(LOGIN_PATH)
    except KubiduError as exc:
        return renderer.error(request, exc)


def _add_static_route(router: APIRouter) -> None:
    @router.get("/static/{name}")
    def static_file(name: str) -> Response:
        media_type = STATIC_FILES.get(name)
        if media_type is None:
            raise NotFound(f"no static file {name!r}")
        headers = {"Cache-Control": "public, max-age=300"}
        return FileResponse(STATIC_DIR / name, media_type=media_type, headers=headers)


def create_web_router(
    *, platform: Platform, secure_cookies: bool, public_url: str | None = None
) -> APIRouter:
    """The dashboard's routes; include them in the server's app without a prefix.

    ``public_url``: how users reach the control plane, for the git remote and webhook URLs
    the pages show (default: the URL the browser used).
    """
    renderer = Renderer(make_templates(), public_url=public_url)
    sessions = Sessions(platform=platform, secure_cookies=secure_cookies)
    router = APIRouter(route_class=_guarded_route_class(renderer), include_in_schema=False)
    add_session_routes(router, sessions, renderer)
    add_page_routes(router, sessions, renderer)
    add_deployment_routes(router, sessions, renderer)
    add_rollback_routes(router, sessions, renderer)
    add_log_routes(router, sessions, renderer)
    add_domain_routes(router, sessions, renderer)
    add_github_routes(router, sessions, renderer)
    _add_static_route(router)
    return router
