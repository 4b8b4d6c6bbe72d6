"""The reconciler: converge the runtime and the edge to the store's desired state.

Level-based (controller-runtime style): every few seconds, and at start, it reads the active
deployment of every service, asks the runtime what really runs, and (1) re-applies specs so
crashed or vanished replicas come back at the right count, (2) stops replicas of deployments
that are neither active nor in flight (leftovers of a crash mid-deploy), (3) removes workloads
of services that no longer exist, then (4) pushes the routes. Services with a deploy in
progress are left to the pipeline.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import select

from kubidu.control import state
from kubidu.control.routing import RouteTable
from kubidu.control.specs import workload_spec
from kubidu.core.states import IN_FLIGHT
from kubidu.runtimes.base import Runtime, RuntimeError_
from kubidu.security.crypto import Keyring
from kubidu.store.db import Database
from kubidu.store.models import Service

log = logging.getLogger(__name__)


class Reconciler:
    def __init__(
        self,
        *,
        db: Database,
        keyring: Keyring,
        runtime: Runtime,
        routes: RouteTable,
        isolation: bool,
        health_timeout_s: float,
        busy: set[str],
    ) -> None:
        self._db, self._keyring, self._runtime, self._routes = db, keyring, runtime, routes
        self._isolation = isolation
        self._health_timeout_s = health_timeout_s
        self._busy = busy  # service ids with a deploy in progress (shared with the pipeline)

    async def run(self, *, interval_s: float = 5.0) -> None:
        while True:
            try:
                await self.reconcile_once()
            except Exception:  # keep reconciling; the next pass may succeed
                log.exception("reconcile pass failed")
            await asyncio.sleep(interval_s)

    async def reconcile_once(self) -> None:
        services = await asyncio.to_thread(self._service_ids)
        for service_id in services:
            if service_id not in self._busy:
                await self._reconcile_service(service_id)
        for orphan in set(await self._runtime.list_services()) - set(services):
            log.info("removing workloads of deleted service %s", orphan)
            await self._runtime.remove(orphan)
        await self._routes.sync()

    def _service_ids(self) -> list[str]:
        with self._db.transaction() as session:
            return list(session.scalars(select(Service.id)).all())

    async def _reconcile_service(self, service_id: str) -> None:
        active = await asyncio.to_thread(self._active_id, service_id)
        keep = {
            d
            for d, s in await asyncio.to_thread(state.deployments_of, self._db, service_id)
            if s in IN_FLIGHT
        }
        if active is not None:
            keep.add(active)
            await self._apply_active(active)
        running = {r.deployment_id for r in await self._runtime.observe(service_id)}
        for deployment_id in running - keep:
            await self._runtime.stop(service_id, deployment_id=deployment_id, grace_s=10.0)

    def _active_id(self, service_id: str) -> str | None:
        with self._db.transaction() as session:
            return session.get_one(Service, service_id).active_deployment_id

    async def _apply_active(self, deployment_id: str) -> None:
        rec = await asyncio.to_thread(state.load, self._db, self._keyring, deployment_id)
        if rec.app_kind == "static" or rec.artifact is None:
            return
        spec = workload_spec(
            rec, isolation=self._isolation, health_timeout_s=self._health_timeout_s
        )
        try:
            await self._runtime.apply(spec)
        except RuntimeError_ as exc:
            log.warning("could not converge %s: %s", deployment_id, exc)
