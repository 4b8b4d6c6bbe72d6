"""Job handlers of the GitHub integration: the CI gate, deploying a pushed commit, and the
pull-request comment that announces a preview.

Registered in the workers' handlers by ``bootstrap.py``:

* ``github.ci`` — ask GitHub for the commit's check runs and statuses and apply the level-based
  verdict (``github/gate.py``) to a *waiting* pending deployment. Only one caller can move a
  pending deployment out of ``waiting`` (a conditional UPDATE), so duplicate or concurrent jobs
  cannot deploy twice.
* ``github.deploy`` — fetch the commit (shallow, with the connection's token), archive it and
  queue a normal deployment of it; idempotent when resumed after a crash.
* ``github.report`` — after a preview's deploy ends, create or edit in place its one PR comment.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from kubidu.control.worker import Handler
from kubidu.core.gitrefs import PendingStatus
from kubidu.git.archive import fetch_archive
from kubidu.git.run import GitError
from kubidu.github.client import GitHubClient
from kubidu.github.gate import Decision, verdict
from kubidu.services import gitdeploys, github
from kubidu.services.context import Platform
from kubidu.store import jobs
from kubidu.store.models import (
    Deployment,
    GitHubConnection,
    PendingDeployment,
    Preview,
    Service,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Source:
    """Where a commit comes from and how to authenticate there."""

    repo: str
    clone_url: str
    token: str
    sha: str


class GitHubJobs:
    def __init__(self, *, platform: Platform, api_url: str, scratch: Path) -> None:
        self._p = platform
        self._api_url = api_url
        self._scratch = scratch
        self._comment_locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    def handlers(self) -> dict[str, Handler]:
        return {
            "github.ci": self._ci,
            "github.deploy": self._deploy,
            "github.report": self._report,
        }

    def client(self, token: str) -> GitHubClient:
        return GitHubClient(api_url=self._api_url, token=token)

    # -- wait for CI ----------------------------------------------------------------------

    async def _ci(self, payload: dict[str, object]) -> None:
        pending_id = str(payload["pending_id"])
        source = await asyncio.to_thread(self._pending_source, pending_id, PendingStatus.WAITING)
        if source is None:
            return  # decided already (deployed, skipped, superseded): nothing to re-check
        async with self.client(source.token) as gh:
            result = verdict(
                await gh.check_runs(source.repo, source.sha),
                await gh.statuses(source.repo, source.sha),
            )
        if result.decision != Decision.WAIT:
            await asyncio.to_thread(self._decide, pending_id, result.decision, result.reason)

    def _decide(self, pending_id: str, decision: Decision, reason: str) -> None:
        with self._p.db.transaction() as session:
            if decision == Decision.SKIP:
                github.move(
                    session,
                    pending_id,
                    (PendingStatus.WAITING,),
                    PendingStatus.SKIPPED,
                    reason=reason,
                )
                return
            if github.move(
                session,
                pending_id,
                (PendingStatus.WAITING,),
                PendingStatus.DEPLOYING,
                reason=reason,
            ):
                jobs.enqueue(session, kind="github.deploy", payload={"pending_id": pending_id})
        self._p.wake_workers()

    def _pending_source(self, pending_id: str, status: PendingStatus) -> Source | None:
        with self._p.db.transaction() as session:
            row = session.get(PendingDeployment, pending_id)
            if row is None or row.status != status or row.deployment_id:
                return None
            conn = session.get_one(GitHubConnection, row.connection_id)
            token = github.open_token(self._p.keyring, conn)
            return Source(conn.repo, conn.clone_url, token, row.commit_sha)

    # -- deploy a pushed commit -----------------------------------------------------------

    async def _deploy(self, payload: dict[str, object]) -> None:
        pending_id = str(payload["pending_id"])
        source = await asyncio.to_thread(self._pending_source, pending_id, PendingStatus.DEPLOYING)
        if source is None:
            return
        try:
            tarball = await self.fetch(source)
        except GitError as exc:
            await asyncio.to_thread(self._fetch_failed, pending_id, str(exc))
            return
        try:
            await asyncio.to_thread(self._record, pending_id, tarball)
        finally:
            tarball.unlink(missing_ok=True)
        self._p.wake_workers()

    async def fetch(self, source: Source) -> Path:
        dest = self._scratch / f"commit-{secrets.token_hex(8)}.tar.gz"
        return await fetch_archive(
            source.clone_url, source.sha, dest, token=source.token, scratch=self._scratch
        )

    def _fetch_failed(self, pending_id: str, reason: str) -> None:
        with self._p.db.transaction() as session:
            github.move(
                session, pending_id, (PendingStatus.DEPLOYING,), PendingStatus.FAILED, reason=reason
            )

    def _record(self, pending_id: str, tarball: Path) -> None:
        with self._p.db.transaction() as session:
            row = session.get_one(PendingDeployment, pending_id)
            conn = session.get_one(GitHubConnection, row.connection_id)
            dep = gitdeploys.record(
                session,
                self._p,
                service=conn.service,
                tarball=tarball,
                commit=row.commit_sha,
                branch=row.branch,
                actor=None,
            )
            if not github.move(
                session,
                pending_id,
                (PendingStatus.DEPLOYING,),
                PendingStatus.DEPLOYED,
                deployment_id=dep.id,
            ):
                raise RuntimeError(f"pending deployment {pending_id} changed while fetching")

    # -- the preview's PR comment ---------------------------------------------------------

    async def after_deploy(self, deployment_id: str) -> None:
        """Called when a deploy job ends: queue the PR comment if a preview is waiting on it."""
        if await asyncio.to_thread(self._queue_report, deployment_id):
            self._p.wake_workers()

    def _queue_report(self, deployment_id: str) -> bool:
        with self._p.db.transaction() as session:
            found = session.scalars(
                select(Preview.id).where(Preview.deployment_id == deployment_id)
            ).first()
            if found is not None:
                jobs.enqueue(session, kind="github.report", payload={"preview_id": found})
            return found is not None

    async def _report(self, payload: dict[str, object]) -> None:
        preview_id = str(payload["preview_id"])
        async with self._comment_locks[preview_id]:
            await self.comment(preview_id, None)

    async def comment(self, preview_id: str, override: str | None) -> None:
        """Create or edit the preview's one PR comment (``override``: a fixed body)."""
        state = await asyncio.to_thread(self._comment_state, preview_id)
        if state is None:
            return
        repo, number, token, comment_id, body = state
        async with self.client(token) as gh:
            if comment_id is None:
                new_id = await gh.create_comment(repo, number, override or body)
                await asyncio.to_thread(self._store_comment, preview_id, new_id)
            else:
                await gh.update_comment(repo, comment_id, override or body)

    def _comment_state(self, preview_id: str) -> tuple[str, int, str, int | None, str] | None:
        with self._p.db.transaction() as session:
            row = session.get_one(Preview, preview_id)
            conn = session.get_one(GitHubConnection, row.connection_id)
            dep = session.get(Deployment, row.deployment_id) if row.deployment_id else None
            if dep is None and row.comment_id is None:
                return None
            body = comment_body(self._p, row, dep)
            return (
                conn.repo,
                row.number,
                github.open_token(self._p.keyring, conn),
                row.comment_id,
                body,
            )

    def _store_comment(self, preview_id: str, comment_id: int) -> None:
        with self._p.db.transaction() as session:
            session.get_one(Preview, preview_id).comment_id = comment_id


MARKER = "<!-- kubidu-preview -->"


def comment_body(p: Platform, row: Preview, dep: Deployment | None) -> str:
    if dep is None:
        return f"{MARKER}\n**Kubidu preview** of #{row.number}: removed (the pull request closed)."
    svc = dep.service if isinstance(dep.service, Service) else None
    url = p.service_url(svc.hostname) if svc else ""
    sha = (dep.git_commit or "")[:12]
    if dep.status in ("active", "superseded"):
        state = f"live at {url}"
    elif dep.status in ("failed", "cancelled"):
        state = f"deploy {dep.status}: {dep.failure_reason or 'no reason given'}"
    else:
        state = f"deploying to {url}"
    return f"{MARKER}\n**Kubidu preview** of #{row.number} (commit `{sha}`): {state}\n\n{url}"
