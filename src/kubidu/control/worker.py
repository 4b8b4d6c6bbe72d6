"""Workers: claim durable jobs from the queue and run them, with heartbeats.

Woken by :meth:`Workers.wake` right after a use-case commits a job (and every second anyway,
as a safety net). At start, jobs interrupted by a crash are handed back by the queue: resumed,
or failed with the reason once they were interrupted too often; their deployments are marked
failed so nothing stays "deploying" forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable

from kubidu.control import state
from kubidu.store import jobs
from kubidu.store.db import Database

log = logging.getLogger(__name__)
Handler = Callable[[dict[str, object]], Awaitable[None]]
_HEARTBEAT_S = 10.0


class Workers:
    def __init__(self, *, db: Database, handlers: dict[str, Handler], concurrency: int = 2):
        self._db = db
        self._handlers = handlers
        self._concurrency = concurrency
        self._wakeup = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._id = f"{os.uname().nodename}:{os.getpid()}"

    @property
    def handlers(self) -> dict[str, Handler]:
        """Job kind → handler; the composition root may add kinds before ``run``."""
        return self._handlers

    def wake(self) -> None:
        """Thread-safe: called by use-cases (in the API's threads) after commit."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wakeup.set)

    async def recover(self) -> None:
        given_up = await asyncio.to_thread(jobs.recover_interrupted, self._db)
        for job in given_up:
            deployment_id = job.payload.get("deployment_id")
            if isinstance(deployment_id, str):
                await asyncio.to_thread(
                    state.fail,
                    self._db,
                    deployment_id,
                    "interrupted by control-plane restarts too many times",
                )
        live = await asyncio.to_thread(jobs.open_deployment_ids, self._db)
        failed = await asyncio.to_thread(
            state.fail_orphaned_in_flight,
            self._db,
            "interrupted: no job is left to finish it",
            keep=live,
        )
        if failed:
            log.warning("failed %d deployments left without a job", len(failed))

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        await asyncio.gather(*(self._run_one() for _ in range(self._concurrency)))

    async def _run_one(self) -> None:
        while True:
            job = await asyncio.to_thread(jobs.claim_next, self._db, worker_id=self._id)
            if job is None:
                self._wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), timeout=1.0)
                continue
            await self._execute(job)

    async def _execute(self, job: jobs.ClaimedJob) -> None:
        beat = asyncio.create_task(self._heartbeat(job.id))
        error: str | None = None
        try:
            await self._handlers[job.kind](job.payload)
        except Exception as exc:  # a bug must not kill the worker; the job records it
            log.exception("job %s (%s) crashed", job.id, job.kind)
            error = f"{type(exc).__name__}: {exc}"
            await self._fail_deployment(job, error)
        finally:
            beat.cancel()
        await asyncio.to_thread(jobs.finish, self._db, job.id, error=error)

    async def _fail_deployment(self, job: jobs.ClaimedJob, error: str) -> None:
        deployment_id = job.payload.get("deployment_id")
        if isinstance(deployment_id, str):
            await asyncio.to_thread(state.fail, self._db, deployment_id, f"internal error: {error}")

    async def _heartbeat(self, job_id: str) -> None:
        while True:
            await asyncio.sleep(_HEARTBEAT_S)
            await asyncio.to_thread(jobs.heartbeat, self._db, job_id)
