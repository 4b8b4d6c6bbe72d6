"""Git smart-HTTP routes: ``/git/<project>/<service>.git/...`` served by ``git http-backend``.

HTTP Basic authentication with an API token as the password (the user name is ignored), so
``git remote add kubidu http://HOST/git/shop/web.git`` and a credential helper or a URL with
``:TOKEN@`` is all a pusher needs. Fetching needs the viewer role, pushing the member role.
Pushes run through :class:`kubidu.api.pushes.PushSession`; the build log reaches the pusher
over git's sideband while the request is still open.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from kubidu.api.pushes import PushSession
from kubidu.core.errors import InvalidInput, KubiduError, Unauthorized
from kubidu.core.names import validate_name
from kubidu.git.backend import CgiRequest, serve
from kubidu.git.repos import GitRepos
from kubidu.services import auth, gitpush
from kubidu.services.context import Actor, Platform

_RPCS = frozenset({"git-upload-pack", "git-receive-pack"})
_CHALLENGE = {"WWW-Authenticate": 'Basic realm="kubidu", charset="UTF-8"'}


def create_git_router(*, repos: GitRepos) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/git/{project}/{repo}/info/refs")
    async def info_refs(project: str, repo: str, request: Request) -> Response:
        rpc = request.query_params.get("service", "")
        if rpc not in _RPCS:
            return _text(403, "only the smart HTTP protocol is served")
        return await _git(request, repos, project, repo, "/info/refs", rpc)

    @router.post("/git/{project}/{repo}/{rpc}")
    async def rpc_call(project: str, repo: str, rpc: str, request: Request) -> Response:
        if rpc not in _RPCS:
            return _text(404, "not found")
        return await _git(request, repos, project, repo, f"/{rpc}", rpc)

    return router


async def _git(
    request: Request, repos: GitRepos, project: str, repo: str, suffix: str, rpc: str
) -> Response:
    p: Platform = request.app.state.platform
    try:
        actor = await run_in_threadpool(_authenticate, p, request)
        service = _service_name(repo)
        ref = await run_in_threadpool(
            gitpush.repo_access,
            p,
            actor=actor,
            project=project,
            service=service,
            write=rpc == "git-receive-pack",
        )
    except Unauthorized as exc:
        return _text(401, exc.message, _CHALLENGE)
    except KubiduError as exc:
        return _text(exc.status_code, exc.message)
    await repos.ensure(ref.project_id, service)
    push = suffix == "/git-receive-pack"
    session = PushSession(p, actor, ref) if push else None
    if session is not None:
        await session.start()
    cgi = _cgi_request(request, repos, ref, f"/{service}.git{suffix}", actor)
    response = await serve(cgi, request.stream(), extra_env=session.env if session else {})
    return StreamingResponse(
        _closing(response.body, session),
        status_code=response.status,
        headers={k: v for k, v in response.headers.items() if k != "content-length"},
    )


def _cgi_request(
    request: Request, repos: GitRepos, ref: gitpush.RepoRef, path_info: str, actor: Actor
) -> CgiRequest:
    return CgiRequest(
        project_root=repos.project_root(ref.project_id),
        path_info=path_info,
        method=request.method,
        query=request.url.query,
        content_type=request.headers.get("content-type"),
        content_encoding=request.headers.get("content-encoding"),
        git_protocol=request.headers.get("git-protocol"),
        remote_user=actor.email,
        remote_addr=request.client.host if request.client else "",
    )


async def _closing(body: AsyncIterator[bytes], session: PushSession | None) -> AsyncIterator[bytes]:
    try:
        async for chunk in body:
            yield chunk
    finally:
        if session is not None:
            await session.close()


def _authenticate(p: Platform, request: Request) -> Actor:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        raise Unauthorized("git needs an API token as the HTTP Basic password")
    try:
        _user, _, token = base64.b64decode(value, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthorized("malformed HTTP Basic credentials") from None
    if not token:
        raise Unauthorized("git needs an API token as the HTTP Basic password")
    client = request.client.host if request.client else None
    return auth.authenticate_token(p.db, token, remote_addr=client)


def _service_name(repo: str) -> str:
    if not repo.endswith(".git"):
        raise InvalidInput("repository paths end with .git: /git/<project>/<service>.git")
    return validate_name(repo.removesuffix(".git"), kind="service")


def _text(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response(message + "\n", status_code=status, media_type="text/plain", headers=headers)
