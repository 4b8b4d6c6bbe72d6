"""A minimal dashboard server for the browser tests, and the data it is seeded with.

:func:`serve_dashboard` builds a FastAPI app with only the dashboard router, over a real
SQLite database, a real keyring and the fake runtime, and serves it with uvicorn on a free
port in a background thread. :func:`seed` fills it through the services layer: the admin
(team ``default``) with project ``shop`` / environment ``production`` / service ``web`` and
env vars; a second user ``eve`` with her own team; an older deployment that went live once
(so it can be rolled back to) and one in-flight deployment with a few build-log lines,
inserted directly as rows (no build runs here).

A tricky part: uvicorn runs its own event loop in the thread, and the log hub's queues belong
to that loop. :meth:`Dashboard.write_lines` stores lines from the test's thread, as the log
shipper would, and hands the publishing to that loop (``call_soon_threadsafe``).
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session

from kubidu.logs.db import DatabaseLogStore
from kubidu.logs.hub import LogHub
from kubidu.logs.model import LogRecord, StoredLine
from kubidu.runtimes.fake import FakeRuntime
from kubidu.security.crypto import Keyring
from kubidu.services import auth, envvars, projects
from kubidu.services.context import Actor, DomainSetup, Platform
from kubidu.store.db import Database
from kubidu.store.models import Deployment, LogEntry, Service
from kubidu.web.app import create_web_router
from tests.helpers.ports import free_port
from tests.helpers.wait import wait_for

EVE_EMAIL = "eve@example.com"
EVE_PASSWORD = "eve-has-a-long-password"
SECRET_VALUE = "s3cr3t-<b>value</b>"
OLD_DEPLOYMENT = "dep_seededold01"


@dataclass(frozen=True)
class Dashboard:
    url: str
    platform: Platform
    loop: asyncio.AbstractEventLoop
    admin_email: str
    admin_password: str
    deployment_id: str
    admin: Actor  # for tests that prepare data through the use-cases

    @property
    def db(self) -> Database:
        return self.platform.db

    def service_id(self) -> str:
        with self.db.transaction() as session:
            return session.scalars(select(Service.id).where(Service.name == "web")).one()

    def write_lines(self, records: Sequence[LogRecord]) -> list[StoredLine]:
        """Store lines and publish them to live followers, as the log shipper does."""
        stored = self.platform.logs.append(records)
        self.publish(stored)
        return stored

    def publish(self, lines: Sequence[StoredLine]) -> None:
        self.loop.call_soon_threadsafe(self.platform.log_hub.publish, list(lines))


def _platform(tmp: Path, domains: DomainSetup | None) -> Platform:
    db = Database(f"sqlite:///{tmp / 'kubidu.db'}")
    db.migrate()
    (tmp / "uploads").mkdir()
    return Platform(
        db=db,
        keyring=Keyring.from_keys(os.urandom(32)),
        runtime=FakeRuntime(),
        base_domain="apps.kubidu.test",
        http_port=8080,
        uploads_dir=tmp / "uploads",
        logs=DatabaseLogStore(db=db),
        log_hub=LogHub(),
        domains=domains,
    )


def seed(p: Platform) -> tuple[str, str, Actor]:
    """Returns the admin's password, the id of an in-flight deployment and the admin."""
    admin = auth.ensure_admin(p.db)
    assert admin is not None
    actor = auth.authenticate_token(p.db, admin.token, remote_addr=None)
    projects.create_project(p, actor=actor, name="shop")
    projects.create_service(p, actor=actor, path=("shop", "production"), name="web")
    envvars.change_vars(
        p,
        actor=actor,
        path=("shop", "production", "web"),
        set_vars={"SECRET_KEY": SECRET_VALUE, "DEBUG": "0"},
        unset=[],
    )
    envvars.change_vars(
        p, actor=actor, path=("shop", "production"), set_vars={"REGION": "eu-1"}, unset=[]
    )
    _seed_eve(p, actor)
    return admin.password, _seed_deployment(p), actor


def _seed_eve(p: Platform, admin: Actor) -> None:
    eve_id, _token = auth.create_user(p, actor=admin, email=EVE_EMAIL, password=EVE_PASSWORD)
    auth.create_team(p, actor=Actor(eve_id, EVE_EMAIL), name="eve-team")


def _seed_deployment(p: Platform) -> str:
    with p.db.transaction() as session:
        service = session.scalars(select(Service).where(Service.name == "web")).one()
        old = Deployment(
            id=OLD_DEPLOYMENT,
            service_id=service.id,
            status="superseded",
            message="the <old> one",
            artifact="/nonexistent/release",
            replicas=1,
            created_at=datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
            finished_at=datetime(2024, 5, 1, 12, 0, 42, tzinfo=UTC),
        )
        session.add(old)
        row = Deployment(
            id="dep_seeded0001",
            service_id=service.id,
            status="building",
            message="first <deploy>",
            replicas=1,
        )
        session.add(row)
        session.flush()
        for text in ("-----> Python app detected", "-----> Installing requirements"):
            add_log_line(session, row.id, text)
        return row.id


def add_log_line(session: Session, deployment_id: str, text: str) -> None:
    service_id = session.get_one(Deployment, deployment_id).service_id
    session.add(
        LogEntry(
            service_id=service_id,
            deployment_id=deployment_id,
            source="build",
            at=datetime.now(UTC),
            stream="build",
            line=text,
        )
    )


def build_line(dashboard: Dashboard, text: str) -> LogRecord:
    return LogRecord(
        service_id=dashboard.service_id(),
        deployment_id=dashboard.deployment_id,
        at=datetime.now(UTC),
        line=text,
        source="build",
        stream="build",
    )


@contextmanager
def serve_dashboard(tmp: Path, *, domains: DomainSetup | None = None) -> Iterator[Dashboard]:
    """Seed a fresh platform in ``tmp`` and serve its dashboard until the block ends.

    ``domains``: how custom domains are checked (None: the server offers no custom domains).
    """
    p = _platform(tmp, domains)
    password, deployment_id, admin = seed(p)
    loops: list[asyncio.AbstractEventLoop] = []

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        loops.append(asyncio.get_running_loop())
        yield

    app = FastAPI(lifespan=lifespan)
    app.include_router(create_web_router(platform=p, secure_cookies=False))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started, 15, what="the dashboard server to start")
        url = f"http://127.0.0.1:{port}"
        yield Dashboard(url, p, loops[0], auth.ADMIN_EMAIL, password, deployment_id, admin)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        p.db.dispose()
