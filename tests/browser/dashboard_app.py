"""A minimal dashboard server for the browser tests, and the data it is seeded with.

:func:`serve_dashboard` builds a FastAPI app with only the dashboard router, over a real
SQLite database, a real keyring and the fake runtime, and serves it with uvicorn on a free
port in a background thread. :func:`seed` fills it through the services layer: the admin
(team ``default``) with project ``shop`` / environment ``production`` / service ``web`` and
env vars; a second user ``eve`` with her own team; one in-flight deployment with a few
build-log lines, inserted directly as rows (no build runs here).

A tricky part: uvicorn runs its own event loop in the thread; the tests only talk HTTP to it
(and write rows through the database), never call into that loop.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session

from kubidu.logs.db import DatabaseLogStore
from kubidu.logs.hub import LogHub
from kubidu.runtimes.fake import FakeRuntime
from kubidu.security.crypto import Keyring
from kubidu.services import auth, envvars, projects
from kubidu.services.context import Actor, Platform
from kubidu.store.db import Database
from kubidu.store.models import Deployment, LogEntry, Service
from kubidu.web.app import create_web_router
from tests.helpers.ports import free_port
from tests.helpers.wait import wait_for

EVE_EMAIL = "eve@example.com"
EVE_PASSWORD = "eve-has-a-long-password"
SECRET_VALUE = "s3cr3t-<b>value</b>"


@dataclass(frozen=True)
class Dashboard:
    url: str
    db: Database
    admin_email: str
    admin_password: str
    deployment_id: str


def _platform(tmp: Path) -> Platform:
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
    )


def seed(p: Platform) -> tuple[str, str]:
    """Returns the admin's password and the id of an in-flight deployment."""
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
    return admin.password, _seed_deployment(p)


def _seed_eve(p: Platform, admin: Actor) -> None:
    eve_id, _token = auth.create_user(p, actor=admin, email=EVE_EMAIL, password=EVE_PASSWORD)
    auth.create_team(p, actor=Actor(eve_id, EVE_EMAIL), name="eve-team")


def _seed_deployment(p: Platform) -> str:
    with p.db.transaction() as session:
        service = session.scalars(select(Service).where(Service.name == "web")).one()
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
            stream="stdout",
            line=text,
        )
    )


@contextmanager
def serve_dashboard(tmp: Path) -> Iterator[Dashboard]:
    """Seed a fresh platform in ``tmp`` and serve its dashboard until the block ends."""
    p = _platform(tmp)
    password, deployment_id = seed(p)
    app = FastAPI()
    app.include_router(create_web_router(platform=p, secure_cookies=False))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started, 15, what="the dashboard server to start")
        yield Dashboard(f"http://127.0.0.1:{port}", p.db, auth.ADMIN_EMAIL, password, deployment_id)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        p.db.dispose()
