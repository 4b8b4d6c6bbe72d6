"""``kubidu server``: run the control plane (API, dashboard, workers, reconciler, edge).

Starts or adopts Caddy, hands back jobs interrupted by a previous crash, then serves the API
with uvicorn while the workers, the reconciler and the edge supervisor run beside it in the
same event loop. Apps and Caddy are detached processes: stopping or killing this process
leaves them serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from fastapi import FastAPI

from kubidu.bootstrap import ControlPlane, assemble
from kubidu.settings import Settings

log = logging.getLogger("kubidu.server")


def serve(settings: Settings) -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per Caddy admin call
    plane = assemble(settings)
    _announce(plane)
    plane.app.router.lifespan_context = _lifespan(plane)
    config = uvicorn.Config(
        plane.app,
        host=settings.listen_host,
        port=settings.listen_port,
        log_level="warning",
        access_log=False,
    )
    uvicorn.Server(config).run()


def _announce(plane: ControlPlane) -> None:
    s = plane.settings
    if not s.isolation_enabled:
        log.warning(
            "single-tenant mode: not running as root, so every app runs as this "
            "server's own user and can read its data dir"
        )
    log.info("data dir %s; database %s; runtime %s", s.data_dir, plane.db.dialect, s.runtime)
    log.info(
        "API and dashboard on %s; apps on http://*.%s:%d/", s.api_url, s.base_domain, s.http_port
    )
    log.info("admin token in %s", s.data_dir / "admin-token")


def _lifespan(plane: ControlPlane) -> Any:
    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await plane.edge.start()
        await plane.workers.recover()
        await plane.reconciler.reconcile_once()
        tasks = [
            asyncio.create_task(coro)
            for coro in (
                plane.workers.run(),
                plane.reconciler.run(),
                plane.edge.supervise(plane.routes.routes),
                *([plane.domain_verifier.run()] if plane.domain_verifier else []),
                plane.shipper.run(),
                plane.housekeeper.run(interval_s=plane.settings.housekeeping_interval_seconds),
            )
        ]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            plane.db.dispose()

    return lifespan
