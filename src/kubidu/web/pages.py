"""The dashboard's browsing pages: projects, one project's services, one service.

Registered by ``app.py``; :func:`service_context` is also used by the routes of the service
page's forms (``domains.py``, ``github.py``) to show the page again with an error.
Handlers that need the runtime's view of a service (``projects.get_service``) are async and
call the synchronous use-cases in a worker thread, so a slow database never blocks the event
loop; the others are plain functions, which FastAPI runs in its thread pool anyway.
"""

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from kubidu.services import auth, deployments, envvars, projects
from kubidu.services.context import Actor, Platform
from kubidu.services.envvars import EnvVarView
from kubidu.services.views import ServiceView
from kubidu.web import sections
from kubidu.web.render import Renderer
from kubidu.web.sections import ServicePath
from kubidu.web.session import Sessions, WebUser, check_csrf


@dataclass(frozen=True)
class EnvironmentServices:
    name: str
    services: list[ServiceView]


def add_page_routes(router: APIRouter, sessions: Sessions, renderer: Renderer) -> None:
    p = sessions.platform

    @router.get("/")
    def projects_page(request: Request) -> Response:
        user = sessions.user(request)
        teams = auth.whoami(p, actor=user.actor)
        items = projects.list_projects(p, actor=user.actor) if teams else []
        team = items[0].team if items else (teams[0].name if teams else None)
        context = {"user": user, "csrf_token": user.csrf_token, "team": team, "projects": items}
        return renderer.page(request, "projects.html", context)

    @router.get("/projects/{project}")
    async def project_page(request: Request, project: str) -> Response:
        user = await run_in_threadpool(sessions.user, request)
        view = await run_in_threadpool(projects.get_project, p, actor=user.actor, name=project)
        envs = [await _environment(sessions, user, project, env) for env in view.environments]
        context = {"user": user, "csrf_token": user.csrf_token, "project": view, "envs": envs}
        return renderer.page(request, "project.html", context)

    @router.get("/projects/{project}/{env}/{service}")
    async def service_page(request: Request, project: str, env: str, service: str) -> Response:
        user = await run_in_threadpool(sessions.user, request)
        path, base_url = (project, env, service), renderer.base_url(request)
        context = await service_context(sessions, user, path, base_url=base_url)
        return renderer.page(request, "service.html", context)

    @router.post("/projects/{project}/{env}/{service}/reveal")
    async def reveal_vars(
        request: Request,
        project: str,
        env: str,
        service: str,
        csrf_token: Annotated[str, Form()] = "",
    ) -> Response:
        user = await run_in_threadpool(sessions.user, request)
        check_csrf(user.csrf_token, csrf_token)
        path, base_url = (project, env, service), renderer.base_url(request)
        context = await service_context(sessions, user, path, base_url=base_url, reveal=True)
        return renderer.page(request, "service.html", context)


async def _environment(
    sessions: Sessions, user: WebUser, project: str, env: str
) -> EnvironmentServices:
    """One environment's services, each with its status as the runtime reports it."""
    p = sessions.platform
    listed = await run_in_threadpool(
        projects.list_services, p, actor=user.actor, path=(project, env)
    )
    views = [
        await projects.get_service(p, actor=user.actor, path=(project, env, s.name)) for s in listed
    ]
    return EnvironmentServices(env, views)


async def service_context(
    sessions: Sessions, user: WebUser, path: ServicePath, *, base_url: str, reveal: bool = False
) -> dict[str, Any]:
    """Everything the service page shows; the Domains and GitHub sections' forms start empty
    (the routes that handle those forms fill in an error and the user's input)."""
    p, actor = sessions.platform, user.actor
    service = await projects.get_service(p, actor=actor, path=path)
    history = await run_in_threadpool(deployments.list_deployments, p, actor=actor, path=path)
    domain = await run_in_threadpool(sections.domain_section, p, actor, path)
    gh = await run_in_threadpool(sections.github_section, p, actor, path, base_url)
    return {
        "user": user,
        "csrf_token": user.csrf_token,
        "service": service,
        "deployments": history,
        "vars": await _vars(p, actor, path, reveal),
        "revealed": reveal,
        **sections.section_context((domain, gh)),
    }


async def _vars(p: Platform, actor: Actor, path: ServicePath, reveal: bool) -> list[EnvVarView]:
    """The service's own variables, then those its whole environment shares."""
    own = await run_in_threadpool(envvars.list_vars, p, actor=actor, path=path, reveal=reveal)
    shared = await run_in_threadpool(
        envvars.list_vars, p, actor=actor, path=path[:2], reveal=reveal
    )
    return own + shared
