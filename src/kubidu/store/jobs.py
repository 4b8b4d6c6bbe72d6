"""The durable job queue: a table, so a job exists exactly when the row that asks for it commits.

``services/`` enqueue jobs inside their own transaction; ``control/worker.py`` claims them. A
claim is a conditional UPDATE (``status = 'pending'``), which is atomic on SQLite and PostgreSQL
alike, so two workers never run the same job. Jobs left ``running`` by a crashed control plane
are handed back by :func:`recover_interrupted` at start: resumed, or failed once they have been
interrupted too often — never left running forever.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kubidu.core.states import JobStatus
from kubidu.store.db import Database
from kubidu.store.models import Job, new_id, utcnow

MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class ClaimedJob:
    id: str
    kind: str
    payload: dict[str, Any]
    attempts: int


def enqueue(session: Session, *, kind: str, payload: dict[str, Any]) -> str:
    """Add a job in the caller's transaction; it becomes visible when that commits."""
    job = Job(id=new_id("job"), kind=kind, payload=payload, status=JobStatus.PENDING)
    session.add(job)
    return job.id


def claim_next(db: Database, *, worker_id: str) -> ClaimedJob | None:
    """Take the oldest pending job, or None when there is nothing to do."""
    with db.transaction() as session:
        candidates = session.scalars(
            select(Job.id).where(Job.status == JobStatus.PENDING).order_by(Job.created_at).limit(5)
        ).all()
        for job_id in candidates:
            if _try_claim(session, job_id, worker_id):
                job = session.get_one(Job, job_id)
                return ClaimedJob(job.id, job.kind, dict(job.payload), job.attempts)
    return None


def _try_claim(session: Session, job_id: str, worker_id: str) -> bool:
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == JobStatus.PENDING)
        .values(
            status=JobStatus.RUNNING,
            locked_by=worker_id,
            heartbeat_at=utcnow(),
            attempts=Job.attempts + 1,
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def finish(db: Database, job_id: str, *, error: str | None = None) -> None:
    status = JobStatus.FAILED if error else JobStatus.DONE
    with db.transaction() as session:
        session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(status=status, last_error=error, finished_at=utcnow(), locked_by=None)
        )


def heartbeat(db: Database, job_id: str) -> None:
    with db.transaction() as session:
        session.execute(update(Job).where(Job.id == job_id).values(heartbeat_at=utcnow()))


def recover_interrupted(db: Database, *, stale_after: timedelta | None = None) -> list[ClaimedJob]:
    """Hand back running jobs whose worker died; returns the jobs given up on (now failed).

    With ``stale_after`` None every running job counts as interrupted (one control plane:
    at start nothing can legitimately be running yet).
    """
    given_up: list[ClaimedJob] = []
    with db.transaction() as session:
        query = select(Job).where(Job.status == JobStatus.RUNNING)
        if stale_after is not None:
            query = query.where(Job.heartbeat_at < utcnow() - stale_after)
        for job in session.scalars(query).all():
            if job.attempts >= MAX_ATTEMPTS:
                job.status = JobStatus.FAILED
                job.last_error = f"interrupted {job.attempts} times by control-plane restarts"
                job.finished_at = utcnow()
                given_up.append(ClaimedJob(job.id, job.kind, dict(job.payload), job.attempts))
            else:
                job.status = JobStatus.PENDING
                job.locked_by = None
    return given_up


def open_deployment_ids(db: Database) -> set[str]:
    """Deployments that a pending or running job will still work on."""
    with db.transaction() as session:
        rows = session.scalars(
            select(Job).where(Job.status.in_([JobStatus.PENDING, JobStatus.RUNNING]))
        ).all()
        return {str(r.payload["deployment_id"]) for r in rows if "deployment_id" in r.payload}
