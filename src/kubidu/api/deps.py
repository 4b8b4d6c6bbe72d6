"""Request dependencies of the API: the platform and the authenticated caller.

The platform is stored on ``app.state`` by :func:`kubidu.api.app.create_api`; routes receive it
and the :class:`Actor` through FastAPI's dependency injection, never from globals.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from kubidu.core.errors import Unauthorized
from kubidu.services import auth
from kubidu.services.context import Actor, Platform

_bearer = HTTPBearer(auto_error=False)


def platform(request: Request) -> Platform:
    value: Platform = request.app.state.platform
    return value


def actor(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("missing API token: send 'Authorization: Bearer <token>'")
    client = request.client.host if request.client else None
    return auth.authenticate_token(
        platform(request).db, credentials.credentials, remote_addr=client
    )


PlatformDep = Annotated[Platform, Depends(platform)]
ActorDep = Annotated[Actor, Depends(actor)]
