"""The edge's route table, derived from the store (active deployments) and the runtime.

:meth:`RouteTable.sync` is the only way routes reach the edge. A deploy in progress *pins*
its service to the new deployment between the traffic switch and the moment the store says it
is active, so a concurrent reconcile can never switch traffic back to replicas about to stop.
A service's route carries its generated hostname and its verified custom domains
(``services/domain_states.py``); active ones are also redirected from HTTP to HTTPS.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy import select

from kubidu.edge.routes import Route
from kubidu.runtimes.base import ReplicaState, Runtime
from kubidu.services.domain_states import routed_hostnames
from kubidu.store.db import Database
from kubidu.store.models import Deployment, Service

EdgeApply = Callable[[Sequence[Route]], Awaitable[None]]


@dataclass(frozen=True)
class _Target:
    service_id: str
    hostname: str
    deployment_id: str
    app_kind: str | None
    artifact: str | None


class RouteTable:
    def __init__(self, *, db: Database, runtime: Runtime, apply: EdgeApply) -> None:
        self._db = db
        self._runtime = runtime
        self._apply = apply
        self._pins: dict[str, str] = {}
        self._lock = asyncio.Lock()

    def pin(self, service_id: str, deployment_id: str) -> None:
        self._pins[service_id] = deployment_id

    def unpin(self, service_id: str) -> None:
        self._pins.pop(service_id, None)

    async def sync(self) -> None:
        """Push the routes of every service to the edge (one atomic config)."""
        async with self._lock:
            await self._apply(await self.routes())

    async def routes(self) -> list[Route]:
        targets = await asyncio.to_thread(self._targets, dict(self._pins))
        custom = await asyncio.to_thread(routed_hostnames, self._db)
        return [_with_custom_domains(await self._route(t), custom) for t in targets]

    def _targets(self, pins: dict[str, str]) -> list[_Target]:
        with self._db.transaction() as session:
            services = session.scalars(select(Service).order_by(Service.hostname)).all()
            targets = []
            for svc in services:
                deployment_id = pins.get(svc.id, svc.active_deployment_id)
                if deployment_id is None:
                    continue
                dep = session.get_one(Deployment, deployment_id)
                targets.append(_Target(svc.id, svc.hostname, dep.id, dep.app_kind, dep.artifact))
            return targets

    async def _route(self, target: _Target) -> Route:
        if target.app_kind == "static" and target.artifact:
            return Route(
                service_key=target.service_id,
                hostnames=(target.hostname,),
                static_root=Path(target.artifact),
            )
        replicas = await self._runtime.observe(target.service_id)
        upstreams = tuple(
            sorted(
                r.address
                for r in replicas
                if r.deployment_id == target.deployment_id
                and r.state == ReplicaState.RUNNING
                and r.address
            )
        )
        return Route(
            service_key=target.service_id, hostnames=(target.hostname,), upstreams=upstreams
        )


def _with_custom_domains(route: Route, custom: dict[str, tuple[list[str], list[str]]]) -> Route:
    """Add the service's verified custom hostnames (and the HTTPS redirects of active ones)."""
    names, redirects = custom.get(route.service_key, ([], []))
    if not names:
        return route
    hostnames = (*route.hostnames, *sorted(names))
    return replace(route, hostnames=hostnames, https_redirect=tuple(sorted(redirects)))
