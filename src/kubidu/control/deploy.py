"""The deploy pipeline: build → start beside the old → healthy → switch → drain → stop old.

Run by the worker for each ``deploy`` job, one deployment per service at a time. Every step is
idempotent (content-addressed builds, level-based ``apply``), so a job resumed after a crash of
the control plane simply runs again from the top. Any failure leaves the previous deployment
serving all traffic and marks the new one failed with a reason the user can act on.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from kubidu.builds.builder import Builder, BuildFailed
from kubidu.control import state
from kubidu.control.buildlog import BuildLog
from kubidu.control.health import HealthCheckFailed, wait_until_healthy
from kubidu.control.routing import RouteTable
from kubidu.control.specs import system_user_for, workload_spec
from kubidu.core.errors import KubiduError
from kubidu.core.states import IN_FLIGHT, DeploymentStatus
from kubidu.logs.hub import LogHub
from kubidu.logs.model import LogStore
from kubidu.runtimes.base import PermanentRuntimeError, Runtime
from kubidu.security.crypto import Keyring
from kubidu.store.db import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LogSink:
    """Where build logs go: stored, and published to live followers."""

    store: LogStore
    hub: LogHub


class DeployFailed(Exception):
    """A step failed for a reason worth showing the user."""


@dataclass(frozen=True)
class DeployTiming:
    drain_s: float
    health_timeout_s: float
    stop_grace_s: float = 10.0


class DeployPipeline:
    def __init__(
        self,
        *,
        db: Database,
        keyring: Keyring,
        runtime: Runtime,
        builder: Builder,
        routes: RouteTable,
        logs: LogSink,
        timing: DeployTiming,
        isolation: bool,
        busy: set[str],
    ) -> None:
        self._db, self._keyring, self._runtime = db, keyring, runtime
        self._busy = busy  # shared with the reconciler, which leaves these services alone
        self._builder, self._routes, self._timing = builder, routes, timing
        self._logs = logs
        self._isolation = isolation
        self._service_locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def run(self, deployment_id: str) -> None:
        rec = await asyncio.to_thread(state.load, self._db, self._keyring, deployment_id)
        if rec.status not in IN_FLIGHT:
            return  # finished before a crash interrupted its job
        async with self._service_locks[rec.service_id]:
            buildlog = BuildLog(
                store=self._logs.store,
                hub=self._logs.hub,
                service_id=rec.service_id,
                deployment_id=deployment_id,
            )
            self._busy.add(rec.service_id)
            try:
                await self._deploy(rec, buildlog)
            except (
                DeployFailed,
                BuildFailed,
                HealthCheckFailed,
                PermanentRuntimeError,
                KubiduError,
            ) as exc:
                await self._fail(rec, buildlog, str(exc))
            finally:
                self._busy.discard(rec.service_id)
                await buildlog.flush()

    async def _deploy(self, rec: state.DeploymentRecord, buildlog: BuildLog) -> None:
        if rec.artifact is None:
            rec = await self._build(rec, buildlog)
        elif rec.status != DeploymentStatus.DEPLOYING:
            await self._move(rec, DeploymentStatus.DEPLOYING)
        if await asyncio.to_thread(state.newer_active_exists, self._db, rec):
            await asyncio.to_thread(
                state.transition,
                self._db,
                rec.id,
                DeploymentStatus.CANCELLED,
                failure_reason="a newer deployment went live first",
            )
            await buildlog.system("cancelled: a newer deployment went live first")
            return
        await self._release(rec, buildlog)

    async def _build(
        self, rec: state.DeploymentRecord, buildlog: BuildLog
    ) -> state.DeploymentRecord:
        if rec.source_path is None or not Path(rec.source_path).exists():
            raise DeployFailed("the uploaded source is gone; deploy again")
        if rec.status == DeploymentStatus.QUEUED:
            await self._move(rec, DeploymentStatus.BUILDING)
        await buildlog.system(f"building deployment {rec.id}")
        result = await self._builder.build(
            Path(rec.source_path),
            owner=rec.team_id,
            run_as=system_user_for(rec.team_id) if self._isolation else None,
            log=buildlog.write,
        )
        await buildlog.system(
            f"built {result.kind} release {result.digest[:12]}"
            + (" (dependencies from cache)" if result.cache_hit else "")
        )
        await asyncio.to_thread(
            state.transition,
            self._db,
            rec.id,
            DeploymentStatus.DEPLOYING,
            artifact=str(result.artifact),
            app_kind=result.kind,
            command=list(result.command),
            build_env=dict(result.env),
            health_path=rec.health_path or result.health_path,
        )
        Path(rec.source_path).unlink(missing_ok=True)  # the release now holds the source
        return await asyncio.to_thread(state.load, self._db, self._keyring, rec.id)

    async def _release(self, rec: state.DeploymentRecord, buildlog: BuildLog) -> None:
        if rec.app_kind != "static" and rec.replicas > 0:
            await self._start_new(rec, buildlog)
        self._routes.pin(rec.service_id, rec.id)
        try:
            await self._routes.sync()
            previous = await asyncio.to_thread(state.activate, self._db, rec)
        finally:
            self._routes.unpin(rec.service_id)
        await self._routes.sync()
        await buildlog.system("deployment is live")
        await buildlog.flush()
        if previous:
            await asyncio.sleep(self._timing.drain_s)
        await self._stop_others(rec)

    async def _start_new(self, rec: state.DeploymentRecord, buildlog: BuildLog) -> None:
        spec = workload_spec(
            rec, isolation=self._isolation, health_timeout_s=self._timing.health_timeout_s
        )
        await buildlog.system(f"starting {rec.replicas} replica(s): {' '.join(rec.command)}")
        await self._runtime.apply(spec)
        await wait_until_healthy(self._runtime, spec, timeout_s=self._timing.health_timeout_s)
        await buildlog.system("replicas healthy; switching traffic")

    async def _stop_others(self, rec: state.DeploymentRecord) -> None:
        """Stop replicas of every other deployment of the service, except in-flight ones."""
        for deployment_id, status in await asyncio.to_thread(
            state.deployments_of, self._db, rec.service_id
        ):
            if deployment_id != rec.id and status not in IN_FLIGHT:
                await self._runtime.stop(
                    rec.service_id, deployment_id=deployment_id, grace_s=self._timing.stop_grace_s
                )

    async def _fail(self, rec: state.DeploymentRecord, buildlog: BuildLog, reason: str) -> None:
        log.info("deployment %s failed: %s", rec.id, reason)
        await buildlog.system(f"deploy failed: {reason}")
        await self._runtime.stop(rec.service_id, deployment_id=rec.id, grace_s=2.0)
        await asyncio.to_thread(state.fail, self._db, rec.id, reason)

    async def _move(self, rec: state.DeploymentRecord, new: DeploymentStatus) -> None:
        await asyncio.to_thread(state.transition, self._db, rec.id, new)
