"""The durable job queue and crash recovery of the workers, on SQLite and PostgreSQL.

Aspects checked:
* a job enqueued in a transaction that rolls back does not exist; one that commits does;
* a deploy request that fails after enqueueing (its upload is missing) leaves no job, no
  deployment and no audit record;
* ``claim_next`` hands out the oldest pending job with its payload and counts the attempt;
  nothing is left to claim afterwards; ``finish`` records done or failed with the error;
* two claimers in threads, each with its own engine, racing over many jobs: every job is
  claimed exactly once (no job twice, none lost, each with one attempt);
* ``recover_interrupted`` hands running jobs back (pending, unlocked) and gives up after
  ``MAX_ATTEMPTS`` claims, marking the job failed with the reason and returning it; with
  ``stale_after`` only jobs whose heartbeat is old are touched;
* ``Workers.recover()`` marks the deployment of a given-up job failed, keeps deployments whose
  job was handed back, fails in-flight deployments left without any job, and leaves finished
  deployments alone.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from kubidu.control import state
from kubidu.control.worker import Workers
from kubidu.core.states import DeploymentStatus, JobStatus
from kubidu.services import deployments
from kubidu.services.context import Actor, Platform
from kubidu.store import jobs
from kubidu.store.db import Database
from kubidu.store.models import Deployment, Job, utcnow
from tests.integration.services_fixtures import TenantA, count_rows, make_upload

pytest_plugins = ["tests.integration.services_fixtures"]


class Rollback(Exception):
    pass


def _job(db: Database, job_id: str) -> Job:
    with db.transaction() as session:
        return session.get_one(Job, job_id)


def _enqueue(db: Database, n: int, kind: str = "noop") -> list[str]:
    with db.transaction() as session:
        return [jobs.enqueue(session, kind=kind, payload={"n": i}) for i in range(n)]


def _interrupt(db: Database, job_id: str, *, attempts: int) -> None:
    """Leave the job as a control plane killed while running it would: running, locked."""
    with db.engine.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE jobs SET status = 'running', attempts = :n, locked_by = 'dead' "
                "WHERE id = :i"
            ),
            {"n": attempts, "i": job_id},
        )


def test_job_exists_only_when_its_transaction_commits(platform: Platform) -> None:
    db = platform.db
    with pytest.raises(Rollback), db.transaction() as session:
        jobs.enqueue(session, kind="deploy", payload={"deployment_id": "dep_x"})
        session.flush()  # the row reached the database, inside the transaction
        raise Rollback
    assert count_rows(db, "jobs") == 0
    assert jobs.claim_next(db, worker_id="w") is None

    (job_id,) = _enqueue(db, 1, kind="deploy")
    assert _job(db, job_id).status == JobStatus.PENDING


def test_failed_deploy_request_leaves_no_job(
    platform: Platform, admin: Actor, tenant_a: TenantA, tmp_path: Path
) -> None:
    before = {t: count_rows(platform.db, t) for t in ("jobs", "deployments", "audit_records")}
    with pytest.raises(FileNotFoundError):
        deployments.create_from_upload(
            platform, actor=admin, path=tenant_a.web, upload=tmp_path / "missing.tar.gz"
        )
    after = {t: count_rows(platform.db, t) for t in before}
    assert after == before
    assert jobs.open_deployment_ids(platform.db) == {tenant_a.deployment_id}


def test_claim_oldest_first_then_finish(platform: Platform) -> None:
    db = platform.db
    ids = _enqueue(db, 3)
    claimed = [jobs.claim_next(db, worker_id="w1") for _ in ids]
    assert jobs.claim_next(db, worker_id="w1") is None
    assert [c.id for c in claimed if c] == ids
    assert [(c.kind, c.payload, c.attempts) for c in claimed if c] == [
        ("noop", {"n": 0}, 1),
        ("noop", {"n": 1}, 1),
        ("noop", {"n": 2}, 1),
    ]
    running = _job(db, ids[0])
    assert (running.status, running.locked_by) == (JobStatus.RUNNING, "w1")
    assert running.heartbeat_at is not None

    jobs.finish(db, ids[0])
    jobs.finish(db, ids[1], error="boom")
    done, failed = _job(db, ids[0]), _job(db, ids[1])
    assert (done.status, done.last_error, done.locked_by) == (JobStatus.DONE, None, None)
    assert (failed.status, failed.last_error) == (JobStatus.FAILED, "boom")
    assert done.finished_at is not None and failed.finished_at is not None


def test_concurrent_claimers_never_share_a_job(platform: Platform, database_url: str) -> None:
    ids = _enqueue(platform.db, 120)
    claims: dict[str, list[str]] = {"a": [], "b": []}
    came_back_empty = {"a": False, "b": False}
    errors: list[Exception] = []
    # Rounds in lockstep: both claim at the same moment every round, so the two really race
    # (free-running threads let one of them take every job before the other has started).
    rounds = threading.Barrier(2, timeout=60)

    def claimer(name: str) -> None:
        db = Database(database_url)  # a second control plane: its own engine and pool
        try:
            while not all(came_back_empty.values()):  # both read it after the same round
                rounds.wait()
                job = jobs.claim_next(db, worker_id=name)
                came_back_empty[name] = job is None
                claims[name] += [job.id] if job else []
                rounds.wait()
        except Exception as exc:  # reported by the assertion below
            rounds.abort()
            errors.append(exc)
        finally:
            db.dispose()

    threads = [threading.Thread(target=claimer, args=(name,)) for name in claims]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    every = claims["a"] + claims["b"]
    assert [job_id for job_id, n in Counter(every).items() if n > 1] == []
    assert sorted(every) == sorted(ids)
    assert claims["a"] and claims["b"], "both claimers should have won some jobs"
    with platform.db.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT status, attempts, locked_by FROM jobs")).all()
    assert {(r[0], r[1]) for r in rows} == {(JobStatus.RUNNING.value, 1)}
    owner = {job_id: name for name, got in claims.items() for job_id in got}
    with platform.db.transaction() as session:
        assert all(job.locked_by == owner[job.id] for job in session.scalars(sa.select(Job)))


def test_recover_resumes_then_gives_up(platform: Platform) -> None:
    db = platform.db
    (job_id,) = _enqueue(db, 1, kind="deploy")
    for attempt in range(1, jobs.MAX_ATTEMPTS):
        claimed = jobs.claim_next(db, worker_id=f"crashing-{attempt}")
        assert claimed is not None and claimed.attempts == attempt
        assert jobs.recover_interrupted(db) == []
        resumed = _job(db, job_id)
        assert (resumed.status, resumed.locked_by) == (JobStatus.PENDING, None)

    last = jobs.claim_next(db, worker_id="crashing-last")
    assert last is not None and last.attempts == jobs.MAX_ATTEMPTS
    given_up = jobs.recover_interrupted(db)
    assert [(j.id, j.attempts) for j in given_up] == [(job_id, jobs.MAX_ATTEMPTS)]
    failed = _job(db, job_id)
    assert failed.status == JobStatus.FAILED
    assert failed.last_error == f"interrupted {jobs.MAX_ATTEMPTS} times by control-plane restarts"
    assert failed.finished_at is not None
    assert jobs.claim_next(db, worker_id="w") is None
    assert jobs.recover_interrupted(db) == []


def test_recover_with_stale_after_touches_only_stale_jobs(platform: Platform) -> None:
    db = platform.db
    stale_id, fresh_id = _enqueue(db, 2)
    assert jobs.claim_next(db, worker_id="dead") is not None
    assert jobs.claim_next(db, worker_id="alive") is not None
    with db.engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE jobs SET heartbeat_at = :t WHERE id = :i"),
            {"t": utcnow() - timedelta(minutes=10), "i": stale_id},
        )
    jobs.heartbeat(db, fresh_id)

    assert jobs.recover_interrupted(db, stale_after=timedelta(minutes=1)) == []
    assert _job(db, stale_id).status == JobStatus.PENDING
    assert (_job(db, fresh_id).status, _job(db, fresh_id).locked_by) == (JobStatus.RUNNING, "alive")


def test_workers_recover_fails_what_no_job_will_finish(
    platform: Platform, admin: Actor, tenant_a: TenantA, tmp_path: Path
) -> None:
    p, db = platform, platform.db

    def deploy(name: str) -> str:
        upload = make_upload(tmp_path / name)
        return deployments.create_from_upload(p, actor=admin, path=tenant_a.web, upload=upload).id

    given_up, resumed, orphan, finished = (deploy(n) for n in ("a", "b", "c", "d"))
    queued_with_job = tenant_a.deployment_id
    with db.transaction() as session:
        job_of = {
            str(j.payload["deployment_id"]): j.id for j in session.scalars(sa.select(Job)).all()
        }
    # given_up: its job was interrupted MAX_ATTEMPTS times, the last while it was building.
    _interrupt(db, job_of[given_up], attempts=jobs.MAX_ATTEMPTS)
    _interrupt(db, job_of[resumed], attempts=1)
    state.transition(db, given_up, DeploymentStatus.BUILDING)
    state.transition(db, resumed, DeploymentStatus.BUILDING)
    # orphan: deploying, but its job already ended (a crash between the two writes).
    state.transition(db, orphan, DeploymentStatus.DEPLOYING)
    jobs.finish(db, job_of[orphan], error="lost")
    # finished: active, job done.
    state.transition(db, finished, DeploymentStatus.DEPLOYING)
    state.activate(db, state.load(db, p.keyring, finished))
    jobs.finish(db, job_of[finished])

    asyncio.run(Workers(db=db, handlers={}).recover())

    with db.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, status, failure_reason FROM deployments")).all()
    outcome = {r[0]: (r[1], r[2]) for r in rows}
    assert outcome == {
        given_up: ("failed", "interrupted by control-plane restarts too many times"),
        resumed: ("building", None),
        orphan: ("failed", "interrupted: no job is left to finish it"),
        finished: ("active", None),
        queued_with_job: ("queued", None),
    }
    assert _job(db, job_of[given_up]).status == JobStatus.FAILED
    assert _job(db, job_of[resumed]).status == JobStatus.PENDING
    assert _job(db, job_of[queued_with_job]).status == JobStatus.PENDING
    with db.transaction() as session:
        assert all(
            d.finished_at is not None
            for d in session.scalars(sa.select(Deployment)).all()
            if d.status in ("failed", "active")
        )
