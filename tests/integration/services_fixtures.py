"""Shared fixtures for the use-case tests: a real platform on a real database, two tenants.

Register with ``pytest_plugins = ["tests.integration.services_fixtures"]`` in a test module;
the helpers and constants below may be imported from it as well. PYTEST_DONT_REWRITE: the test
modules import this module before pytest registers it as a plugin, too late for assertion
rewriting, and pytest would warn about that; its few asserts are plain sanity checks.

* ``platform``: :class:`~kubidu.services.context.Platform` over a migrated database from
  ``database_url`` (SQLite, then PostgreSQL), a fresh random keyring, the in-memory
  :class:`~kubidu.runtimes.fake.FakeRuntime` and an uploads dir under ``tmp_path``.
* ``admin``: the first-start admin (``auth.ensure_admin`` + ``auth.authenticate_token``); it
  owns team ``default`` (team A).
* ``rival``: a second user who owns a second team, ``rivals`` (team B), with its own project.
* ``tenant_a``: team A's objects — project ``shop`` (environments ``production`` and
  ``staging``), services ``web`` and ``worker``, env vars in both scopes, one queued deployment
  (from a real upload) with a build-log line.
* ``viewer``: a third user who is a ``viewer`` member of team A (no use-case adds members yet,
  so the membership row is written through the models).

A tricky part: argon2 hashing (the admin's password) costs ~0.2 s, so every test that asks for
``admin`` pays it once; keep such tests few and make each one check a lot.
"""

from __future__ import annotations

import io
import os
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from kubidu.core.states import Role
from kubidu.logs.db import DatabaseLogStore
from kubidu.logs.hub import LogHub
from kubidu.logs.model import LogRecord
from kubidu.runtimes.fake import FakeRuntime
from kubidu.security.crypto import Keyring
from kubidu.services import auth, deployments, envvars, projects
from kubidu.services.context import Actor, Platform
from kubidu.store.db import Database
from kubidu.store.models import Membership, utcnow

TEAM_A = "default"
TEAM_B = "rivals"
PROJECT = "shop"
ENV_SECRET = "env-shared-secret-7c41d2"
SERVICE_SECRET = "service-own-secret-93ab0e"


@dataclass(frozen=True)
class TenantA:
    """Names and ids of team A's objects, for tests that attack or read them."""

    web: tuple[str, str, str]
    worker: tuple[str, str, str]
    web_id: str
    environment_id: str
    deployment_id: str


def make_upload(directory: Path, name: str = "upload.tar.gz") -> Path:
    """A small, valid gzip tarball holding a one-file Python app."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    body = b"print('hello')\n"
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo("app.py")
        info.size = len(body)
        tar.addfile(info, io.BytesIO(body))
    return path


def count_rows(db: Database, table: str) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one())  # noqa: S608


def table_rows(db: Database, table: str, order_by: str) -> list[tuple[Any, ...]]:
    """Every row of ``table`` as plain tuples, read with raw SQL (not through the ORM)."""
    with db.engine.connect() as conn:
        query = sa.text(f"SELECT * FROM {table} ORDER BY {order_by}")  # noqa: S608
        return [tuple(row) for row in conn.execute(query)]


@pytest.fixture
def platform(database_url: str, tmp_path: Path) -> Iterator[Platform]:
    db = Database(database_url)
    db.migrate()
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    try:
        yield Platform(
            db=db,
            keyring=Keyring.from_keys(os.urandom(32)),
            runtime=FakeRuntime(),
            base_domain="localhost",
            http_port=8080,
            uploads_dir=uploads,
            logs=DatabaseLogStore(db=db),
            log_hub=LogHub(),
        )
    finally:
        db.dispose()


@pytest.fixture
def admin(platform: Platform) -> Actor:
    created = auth.ensure_admin(platform.db)
    assert created is not None
    return auth.authenticate_token(platform.db, created.token, remote_addr="192.0.2.1")


def new_user(platform: Platform, admin: Actor, email: str) -> Actor:
    """A user created by the admin, authenticated with the first token they were given."""
    _user_id, token = auth.create_user(platform, actor=admin, email=email, password=None)
    return auth.authenticate_token(platform.db, token, remote_addr="198.51.100.7")


@pytest.fixture
def rival(platform: Platform, admin: Actor) -> Actor:
    user = new_user(platform, admin, "rival@example.com")
    auth.create_team(platform, actor=user, name=TEAM_B)
    projects.create_project(platform, actor=user, name="own")
    return user


@pytest.fixture
def tenant_a(platform: Platform, admin: Actor, tmp_path: Path) -> TenantA:
    projects.create_project(platform, actor=admin, name=PROJECT)
    projects.create_environment(platform, actor=admin, project=PROJECT, name="staging")
    web = projects.create_service(platform, actor=admin, path=(PROJECT, "production"), name="web")
    projects.create_service(platform, actor=admin, path=(PROJECT, "production"), name="worker")
    envvars.change_vars(
        platform,
        actor=admin,
        path=(PROJECT, "production"),
        set_vars={"SHARED": ENV_SECRET},
        unset=[],
    )
    envvars.change_vars(
        platform,
        actor=admin,
        path=(PROJECT, "production", "web"),
        set_vars={"OWN": SERVICE_SECRET},
        unset=[],
    )
    path = (PROJECT, "production", "web")
    upload = make_upload(tmp_path / "incoming", "a.tar.gz")
    dep = deployments.create_from_upload(platform, actor=admin, path=path, upload=upload)
    platform.logs.append(
        [
            LogRecord(
                service_id=web.id,
                deployment_id=dep.id,
                at=utcnow(),
                source="build",
                stream="build",
                line="built",
            )
        ]
    )
    assert projects.get_project(platform, actor=admin, name=PROJECT).environments == (
        "production",
        "staging",
    )
    with platform.db.engine.connect() as conn:
        environment_id = conn.execute(
            sa.text("SELECT environment_id FROM services WHERE id = :id"), {"id": web.id}
        ).scalar_one()
    return TenantA(
        web=path,
        worker=(PROJECT, "production", "worker"),
        web_id=web.id,
        environment_id=environment_id,
        deployment_id=dep.id,
    )


@pytest.fixture
def viewer(platform: Platform, admin: Actor, tenant_a: TenantA) -> Actor:
    user = new_user(platform, admin, "viewer@example.com")
    with platform.db.transaction() as session:
        team_id = session.scalars(
            sa.select(Membership.team_id).where(Membership.user_id == admin.user_id)
        ).one()
        session.add(Membership(team_id=team_id, user_id=user.user_id, role=Role.VIEWER))
    return user
