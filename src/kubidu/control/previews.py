"""The ``github.preview`` job: converge a pull request's preview to what its events asked for.

Level-based: the webhook only records the wish on the preview row (open at commit X, or
closed); this handler reads it and acts. Open → create the ``pr-<N>`` environment if missing
(``services/previews.ensure``) and deploy the head commit unless it already is. Closed → wait
until no job still works on the environment's deployments (re-queuing itself meanwhile), delete
the rows, remove the workloads from the runtime, push routes without them, and edit the PR
comment to say the preview is gone.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from kubidu.control.github import GitHubJobs, Source
from kubidu.control.routing import RouteTable
from kubidu.git.run import GitError
from kubidu.runtimes.base import Runtime
from kubidu.services import gitdeploys, github, previews
from kubidu.services.context import Platform
from kubidu.store import jobs
from kubidu.store.models import GitHubConnection, Preview, Service

log = logging.getLogger(__name__)
_RETRY_S = 1.0


class PreviewJobs:
    def __init__(
        self, *, platform: Platform, runtime: Runtime, routes: RouteTable, github_jobs: GitHubJobs
    ) -> None:
        self._p, self._runtime, self._routes, self._gh = platform, runtime, routes, github_jobs

    async def handle(self, payload: dict[str, object]) -> None:
        preview_id = str(payload["preview_id"])
        target = await asyncio.to_thread(previews.ensure, self._p, preview_id)
        if target is None:
            await self._teardown(preview_id)
        elif target.deployed_sha != target.head_sha:
            await self._deploy(target)

    async def _deploy(self, target: previews.PreviewTarget) -> None:
        source = await asyncio.to_thread(self._source, target)
        try:
            tarball = await self._gh.fetch(source)
        except GitError as exc:
            log.warning("preview %s: fetching %s failed: %s", target.preview_id, source.sha, exc)
            raise
        try:
            await asyncio.to_thread(self._record, target, tarball)
        finally:
            tarball.unlink(missing_ok=True)
        self._p.wake_workers()

    def _source(self, target: previews.PreviewTarget) -> Source:
        with self._p.db.transaction() as session:
            row = session.get_one(Preview, target.preview_id)
            conn = session.get_one(GitHubConnection, row.connection_id)
            token = github.open_token(self._p.keyring, conn)
            return Source(conn.repo, conn.clone_url, token, target.head_sha)

    def _record(self, target: previews.PreviewTarget, tarball: Path) -> None:
        with self._p.db.transaction() as session:
            row = session.get_one(Preview, target.preview_id)
            if row.state != previews.OPEN or row.head_sha != target.head_sha:
                return  # closed or moved on while fetching; the newer job deploys
            dep = gitdeploys.record(
                session,
                self._p,
                service=session.get_one(Service, target.service_id),
                tarball=tarball,
                commit=target.head_sha,
                branch=f"pull/{row.number}",
                actor=None,
            )
            row.deployment_id = dep.id

    async def _teardown(self, preview_id: str) -> None:
        _env, deployment_ids = await asyncio.to_thread(previews.deployment_ids, self._p, preview_id)
        busy = set(deployment_ids) & await asyncio.to_thread(jobs.open_deployment_ids, self._p.db)
        if busy:
            await asyncio.sleep(_RETRY_S)  # a deploy of the preview still runs: come back later
            await asyncio.to_thread(self._requeue, preview_id)
            return
        service_ids = await asyncio.to_thread(previews.remove, self._p, preview_id)
        for service_id in service_ids:
            await self._runtime.remove(service_id)
        await self._routes.sync()
        if service_ids:
            await self._gh.comment(preview_id, None)

    def _requeue(self, preview_id: str) -> None:
        with self._p.db.transaction() as session:
            jobs.enqueue(session, kind="github.preview", payload={"preview_id": preview_id})
        self._p.wake_workers()
