"""The FastAPI application of the control plane: JSON API, health endpoints, error mapping.

Built by ``bootstrap.py`` (which hands in the platform) and served by ``server.py``. The
dashboard router is included by the caller so this module stays the API's.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from kubidu import __version__
from kubidu.api import deployments, domains, env, logs, projects
from kubidu.api.uploads import UploadLimits
from kubidu.core.errors import KubiduError
from kubidu.services.context import Platform

API_PREFIX = "/api/v1"


def create_api(*, platform: Platform, upload_limits: UploadLimits) -> FastAPI:
    app = FastAPI(
        title="Kubidu",
        version=__version__,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
    )
    app.state.platform = platform
    app.state.upload_limits = upload_limits
    app.add_exception_handler(KubiduError, _kubidu_error)  # type: ignore[arg-type]
    app.include_router(_health_router())
    for module in (projects, env, deployments, logs, domains):
        app.include_router(module.router, prefix=API_PREFIX)
    return app


async def _kubidu_error(_request: Request, exc: KubiduError) -> JSONResponse:
    return JSONResponse(status_code=exc.status_code, content={"detail": exc.message})


def _health_router() -> APIRouter:
    router = APIRouter()

    @router.get("/healthz", include_in_schema=False)
    @router.get(f"{API_PREFIX}/health")
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    return router
