"""Dashboard sessions: the login and logout routes, the session cookie and CSRF checks.

Called by the page modules (:meth:`Sessions.user`, :meth:`Sessions.check_csrf`) and by
``app.py``, which registers :func:`add_session_routes`.

A tricky part: the login form has no session yet, so its CSRF token is a double-submit
cookie (``kubidu_login_csrf``) compared with the form field. Every other POST compares its
``csrf_token`` field with the token stored beside the session on the server.
"""

import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from kubidu.core.errors import Forbidden, Unauthorized
from kubidu.security.tokens import same_secret
from kubidu.services import auth
from kubidu.services.context import Actor, Platform
from kubidu.web.render import Renderer

SESSION_COOKIE = "kubidu_session"
LOGIN_CSRF_COOKIE = "kubidu_login_csrf"
LOGIN_PATH = "/login"


@dataclass(frozen=True)
class WebUser:
    """The logged-in caller and the CSRF token their forms must carry."""

    actor: Actor
    csrf_token: str


@dataclass(frozen=True)
class Sessions:
    platform: Platform
    secure_cookies: bool

    def user(self, request: Request) -> WebUser:
        """The caller of a live session; :class:`Unauthorized` (→ redirect to login) if none."""
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            raise Unauthorized("log in first")
        actor, csrf = auth.authenticate_session(
            self.platform.db, token, remote_addr=client_addr(request)
        )
        return WebUser(actor, csrf)

    def set_cookie(self, response: Response, name: str, value: str, max_age: int) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path="/",
            httponly=True,
            samesite="lax",
            secure=self.secure_cookies,
        )


def client_addr(request: Request) -> str | None:
    return request.client.host if request.client else None


def check_csrf(expected: str, given: str) -> None:
    """403 unless the form's token equals the expected one (compared in constant time)."""
    if not expected or not given or not same_secret(expected, given):
        raise Forbidden("invalid or missing CSRF token: reload the page and try again")


async def form_user(sessions: Sessions, request: Request, csrf_token: str) -> WebUser:
    """The caller of a form's POST, once its CSRF token checked out (403 otherwise)."""
    user = await run_in_threadpool(sessions.user, request)
    check_csrf(user.csrf_token, csrf_token)
    return user


def redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def add_session_routes(router: APIRouter, sessions: Sessions, renderer: Renderer) -> None:
    def login_form(
        request: Request, error: str | None = None, status: int = 200, email: str = ""
    ) -> Response:
        token = secrets.token_urlsafe(32)
        context = {"csrf_token": token, "error": error, "email": email}
        response = renderer.page(request, "login.html", context, status_code=status)
        sessions.set_cookie(response, LOGIN_CSRF_COOKIE, token, max_age=3600)
        return response

    @router.get(LOGIN_PATH)
    def login_page(request: Request) -> Response:
        return login_form(request)

    @router.post(LOGIN_PATH)
    def login(
        request: Request,
        email: Annotated[str, Form()] = "",
        password: Annotated[str, Form()] = "",
        csrf_token: Annotated[str, Form()] = "",
    ) -> Response:
        check_csrf(request.cookies.get(LOGIN_CSRF_COOKIE, ""), csrf_token)
        try:
            login = auth.login_password(
                sessions.platform.db,
                email=email.strip(),
                password=password,
                remote_addr=client_addr(request),
            )
        except Unauthorized as exc:
            return login_form(request, exc.message, status=401, email=email)
        response = redirect("/")
        lifetime = int(auth.SESSION_LIFETIME.total_seconds())
        sessions.set_cookie(response, SESSION_COOKIE, login.session_token, max_age=lifetime)
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
        return response

    @router.post("/logout")
    def logout(request: Request, csrf_token: Annotated[str, Form()] = "") -> Response:
        user = sessions.user(request)
        check_csrf(user.csrf_token, csrf_token)
        auth.logout_session(sessions.platform.db, request.cookies.get(SESSION_COOKIE, ""))
        response = redirect(LOGIN_PATH)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response
