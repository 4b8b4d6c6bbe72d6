"""The hash-chained audit log as the use-cases write it, on SQLite and PostgreSQL.

Aspects checked:
* every mutating use-case (bootstrap, users, teams, login, projects, environments, services,
  env changes and reveals, deployments) appends exactly one record naming the action, the
  object, the team, the actor and the caller's address; reads append nothing;
* a use-case that fails (conflict, invalid input, not found, a failure after the audit write)
  leaves no record: the record shares the use-case's transaction;
* ``first_broken_record`` is None on an intact chain and names the right seq after a raw SQL
  edit of ``action``, of ``details`` or of ``at``, after deleting a middle record, and after a
  forger recomputes the edited record's own hash (the next record then breaks);
* timestamps survive the round trip when PostgreSQL's session time zone is not UTC;
* a service scaled to zero says so in its audit record;
* concurrent use-cases append to one chain, never fork it (two records with the same
  ``prev_hash``).
"""

from __future__ import annotations

import json
import threading
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from kubidu.core.errors import Conflict, InvalidInput, KubiduError, NotFound
from kubidu.security.audit import GENESIS, record_hash
from kubidu.services import audit, auth, deployments, envvars, projects
from kubidu.services.context import Actor, Platform
from kubidu.store.db import Database
from kubidu.store.models import AuditRecord
from tests.integration.services_fixtures import (
    PROJECT,
    TEAM_A,
    TenantA,
    count_rows,
    make_upload,
)

pytest_plugins = ["tests.integration.services_fixtures"]


def _broken(db: Database) -> int | None:
    with db.transaction() as session:
        return audit.first_broken_record(session)


def _last(db: Database) -> AuditRecord:
    with db.transaction() as session:
        return session.scalars(sa.select(AuditRecord).order_by(AuditRecord.seq.desc())).first()


def _seqs(db: Database) -> list[int]:
    with db.engine.connect() as conn:
        return list(conn.execute(sa.text("SELECT seq FROM audit_records ORDER BY seq")).scalars())


def _execute(db: Database, statement: str, **params: Any) -> None:
    with db.engine.begin() as conn:
        conn.execute(sa.text(statement), params)


def test_every_mutation_appends_one_record(platform: Platform, tmp_path: Path) -> None:
    p = platform
    created = auth.ensure_admin(p.db)
    assert created is not None
    record = _last(p.db)
    assert (record.seq, record.action, record.actor, record.prev_hash) == (
        1,
        "admin.bootstrap",
        "system",
        GENESIS,
    )
    admin = auth.authenticate_token(p.db, created.token, remote_addr="192.0.2.1")
    team_a = auth.whoami(p, actor=admin)[0].id
    upload = make_upload(tmp_path / "in")
    web = (PROJECT, "production", "web")
    steps: list[tuple[str, Any, tuple[str, str | None]]] = [
        ("user.create", lambda: auth.create_user(
            p, actor=admin, email="u@example.com", password="correct horse"
        ), ("user", None)),
        ("user.login", lambda: auth.login_password(
            p.db, email="u@example.com", password="correct horse", remote_addr="192.0.2.1"
        ), ("user", None)),
        ("team.create", lambda: auth.create_team(p, actor=admin, name="second"), ("team", None)),
        ("project.create", lambda: projects.create_project(p, actor=admin, name=PROJECT),
         ("project", team_a)),
        ("environment.create", lambda: projects.create_environment(
            p, actor=admin, project=PROJECT, name="staging"
        ), ("environment", team_a)),
        ("service.create", lambda: projects.create_service(
            p, actor=admin, path=(PROJECT, "production"), name="web"
        ), ("service", team_a)),
        ("service.update", lambda: projects.update_service(p, actor=admin, path=web, replicas=2),
         ("service", team_a)),
        ("env.change", lambda: envvars.change_vars(
            p, actor=admin, path=web, set_vars={"A": "1"}, unset=[]
        ), ("environment", team_a)),
        ("env.reveal", lambda: envvars.list_vars(p, actor=admin, path=web, reveal=True),
         ("environment", team_a)),
        ("deployment.create", lambda: deployments.create_from_upload(
            p, actor=admin, path=web, upload=upload
        ), ("deployment", team_a)),
    ]  # fmt: skip
    for action, run, (object_type, team_id) in steps:
        before = _last(p.db)
        run()
        record = _last(p.db)
        assert (record.seq, record.action, record.object_type) == (
            before.seq + 1,
            action,
            object_type,
        )
        assert record.prev_hash == before.hash
        assert record.at.tzinfo is not None
        if team_id is not None:
            assert record.team_id == team_id
        if action != "user.login":
            assert (record.actor, record.remote_addr) == (admin.email, "192.0.2.1")
    (service,) = projects.list_services(p, actor=admin, path=(PROJECT, "production"))
    assert _last(p.db).details == {"service": service.id}

    count = count_rows(p.db, "audit_records")
    projects.list_projects(p, actor=admin)
    projects.get_project(p, actor=admin, name=PROJECT)
    projects.list_services(p, actor=admin, path=(PROJECT, "production"))
    envvars.list_vars(p, actor=admin, path=web)
    deployments.list_deployments(p, actor=admin, path=web)
    auth.whoami(p, actor=admin)
    assert count_rows(p.db, "audit_records") == count
    assert _broken(p.db) is None


def test_failed_use_cases_leave_no_record(
    platform: Platform, admin: Actor, tenant_a: TenantA, tmp_path: Path
) -> None:
    count = count_rows(platform.db, "audit_records")
    failures: list[tuple[type[Exception], Any]] = [
        (Conflict, lambda: projects.create_project(platform, actor=admin, name=PROJECT)),
        (Conflict, lambda: auth.create_team(platform, actor=admin, name=TEAM_A)),
        (InvalidInput, lambda: envvars.change_vars(
            platform, actor=admin, path=tenant_a.web, set_vars={"PORT": "1"}, unset=[]
        )),
        (NotFound, lambda: projects.create_service(
            platform, actor=admin, path=(PROJECT, "nope"), name="x"
        )),
        # The upload is moved after the audit write: its failure must roll the record back.
        (FileNotFoundError, lambda: deployments.create_from_upload(
            platform, actor=admin, path=tenant_a.web, upload=tmp_path / "missing.tar.gz"
        )),
    ]  # fmt: skip
    for error, run in failures:
        with pytest.raises(error):
            run()
    assert count_rows(platform.db, "audit_records") == count
    assert _broken(platform.db) is None


def test_tampering_is_found_at_the_right_record(
    platform: Platform, admin: Actor, tenant_a: TenantA
) -> None:
    db = platform.db
    seqs = _seqs(db)
    assert len(seqs) >= 8
    assert _broken(db) is None
    target = seqs[4]
    with db.engine.connect() as conn:
        original = conn.execute(
            sa.text("SELECT action, details, hash FROM audit_records WHERE seq = :s"),
            {"s": target},
        ).one()

    _execute(db, "UPDATE audit_records SET action = 'nothing.happened' WHERE seq = :s", s=target)
    assert _broken(db) == target
    _execute(db, "UPDATE audit_records SET action = :a WHERE seq = :s", a=original[0], s=target)
    assert _broken(db) is None

    _execute(db, """UPDATE audit_records SET details = '{"name": "x"}' WHERE seq = :s""", s=target)
    assert _broken(db) == target
    with db.transaction() as session:
        session.get_one(AuditRecord, target).details = dict(_details(original[1]))
    assert _broken(db) is None

    with db.transaction() as session:
        row = session.get_one(AuditRecord, target)
        row.at = row.at.replace(year=row.at.year - 1)
    assert _broken(db) == target
    with db.transaction() as session:
        row = session.get_one(AuditRecord, target)
        row.at = row.at.replace(year=row.at.year + 1)
    assert _broken(db) is None

    # A forger who also recomputes the edited record's hash breaks the link to the next one.
    with db.transaction() as session:
        row = session.get_one(AuditRecord, target)
        row.action = "nothing.happened"
        row.hash = record_hash(row.prev_hash, audit._fields(row))
    assert _broken(db) == seqs[5]
    with db.transaction() as session:
        row = session.get_one(AuditRecord, target)
        row.action, row.hash = original[0], original[2]
    assert _broken(db) is None

    _execute(db, "DELETE FROM audit_records WHERE seq = :s", s=target)
    assert _broken(db) == seqs[5]


def _details(raw: Any) -> dict[str, Any]:
    """JSON columns come back parsed on PostgreSQL and as text through raw SQL on SQLite."""
    return raw if isinstance(raw, dict) else json.loads(raw)


def test_timestamps_round_trip_in_a_non_utc_session(
    platform: Platform, admin: Actor, tenant_a: TenantA
) -> None:
    db = platform.db
    if db.dialect == "postgresql":
        with db.engine.connect() as conn:
            name = conn.execute(sa.text("SELECT current_database()")).scalar_one()
        _execute(db, f"ALTER DATABASE \"{name}\" SET timezone TO 'Asia/Kathmandu'")
        db.engine.dispose()  # new connections pick the database's time zone up
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SHOW timezone")).scalar_one() == "Asia/Kathmandu"
            stored = conn.execute(sa.text("SELECT at FROM audit_records LIMIT 1")).scalar_one()
            assert stored.utcoffset().total_seconds() == 5 * 3600 + 45 * 60
    projects.create_environment(platform, actor=admin, project=PROJECT, name="after-tz")
    record = _last(db)
    assert record.at.astimezone(UTC).utcoffset().total_seconds() == 0
    assert _broken(db) is None


def test_scaling_to_zero_is_recorded(platform: Platform, admin: Actor, tenant_a: TenantA) -> None:
    projects.update_service(platform, actor=admin, path=tenant_a.web, replicas=0)
    record = _last(platform.db)
    assert record.action == "service.update"
    assert record.details == {"replicas": 0}


def test_concurrent_appends_keep_one_chain(
    platform: Platform, admin: Actor, tenant_a: TenantA
) -> None:
    errors: list[KubiduError | Exception] = []
    start = threading.Barrier(4)

    def act(worker: int) -> None:
        start.wait()
        for i in range(8):
            try:
                envvars.list_vars(platform, actor=admin, path=tenant_a.web, reveal=True)
                new = {f"K{worker}_{i}": "v"}
                envvars.change_vars(
                    platform, actor=admin, path=tenant_a.web, set_vars=new, unset=[]
                )
            except Exception as exc:  # collected: an error is a failure too, reported below
                errors.append(exc)

    threads = [threading.Thread(target=act, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    with platform.db.engine.connect() as conn:
        forks = conn.execute(
            sa.text("SELECT prev_hash FROM audit_records GROUP BY prev_hash HAVING COUNT(*) > 1")
        ).all()
    assert forks == []
    assert _broken(platform.db) is None
