"""SQLAlchemy 2 models of the control plane's state.

Ids are random strings (:func:`new_id`) so they reveal nothing about other tenants. Every
tenant-owned row reaches its team through ``project.team_id``; services in ``services/`` filter
on it for every read and write. Secrets are stored only as ciphertext with the id of the key
that sealed them (``security/crypto.py``); tokens and passwords only as hashes.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes on SQLite too (which stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


class Team(Base):
    __tablename__ = "teams"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class User(Base):
    __tablename__ = "users"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Membership(Base):
    __tablename__ = "memberships"
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    team: Mapped[Team] = relationship()


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()


class WebSession(Base):
    __tablename__ = "web_sessions"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column()


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("team_id", "name"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"), index=True)
    name: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    team: Mapped[Team] = relationship()


class Environment(Base):
    __tablename__ = "environments"
    __table_args__ = (UniqueConstraint("project_id", "name"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    name: Mapped[str] = mapped_column(String(40))
    # The git branch whose pushes deploy this environment (production: "main" when NULL).
    git_branch: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    project: Mapped[Project] = relationship()


class Service(Base):
    __tablename__ = "services"
    __table_args__ = (UniqueConstraint("environment_id", "name"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    environment_id: Mapped[str] = mapped_column(ForeignKey("environments.id"), index=True)
    name: Mapped[str] = mapped_column(String(40))
    hostname: Mapped[str] = mapped_column(String(253), unique=True)
    replicas: Mapped[int] = mapped_column(Integer, default=1)
    health_path: Mapped[str | None] = mapped_column(String(200))
    active_deployment_id: Mapped[str | None] = mapped_column(String(32))
    generation: Mapped[int] = mapped_column(Integer, default=0)
    cpu_limit: Mapped[float | None] = mapped_column(Float)  # CPUs; enforced where supported
    memory_limit_mb: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    environment: Mapped[Environment] = relationship()


class Deployment(Base):
    __tablename__ = "deployments"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    service_id: Mapped[str] = mapped_column(ForeignKey("services.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    generation: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str | None] = mapped_column(String(500))
    source_path: Mapped[str | None] = mapped_column(Text)  # uploaded tarball, until built
    artifact: Mapped[str | None] = mapped_column(Text)  # release dir or image
    app_kind: Mapped[str | None] = mapped_column(String(16))  # python | node | static | ...
    command: Mapped[list[str] | None] = mapped_column(JSON)
    build_env: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # PATH etc. from the build
    port: Mapped[int | None] = mapped_column(Integer)
    replicas: Mapped[int] = mapped_column(Integer, default=1)
    health_path: Mapped[str | None] = mapped_column(String(200))
    env_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    env_key_id: Mapped[str | None] = mapped_column(String(32))
    failure_reason: Mapped[str | None] = mapped_column(Text)
    rollback_from: Mapped[str | None] = mapped_column(String(32))
    trigger: Mapped[str] = mapped_column(String(16), default="deploy")  # deploy | rollback | git
    artifact_pruned: Mapped[bool] = mapped_column(Boolean, default=False)
    git_commit: Mapped[str | None] = mapped_column(String(40))  # deployments from git
    git_branch: Mapped[str | None] = mapped_column(String(255))
    created_by: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column()
    service: Mapped[Service] = relationship()
    creator: Mapped[User | None] = relationship(
        primaryjoin="Deployment.created_by == User.id", foreign_keys=[created_by], viewonly=True
    )


class EnvVar(Base):
    """A variable of a whole environment (``service_id`` NULL) or of one service."""

    __tablename__ = "env_vars"
    __table_args__ = (UniqueConstraint("environment_id", "scope", "key"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    environment_id: Mapped[str] = mapped_column(ForeignKey("environments.id"), index=True)
    # "env" for shared variables, else the service id: a NOT NULL column keeps the unique
    # constraint effective (NULLs never collide in SQL).
    scope: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(128))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    key_id: Mapped[str] = mapped_column(String(32))
    secret: Mapped[bool] = mapped_column(Boolean, default=False)  # not copied into previews
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditRecord(Base):
    """Append-only, hash-chained record of a mutating action (see ``security/audit.py``)."""

    __tablename__ = "audit_records"
    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime] = mapped_column()
    actor: Mapped[str] = mapped_column(String(254))
    team_id: Mapped[str | None] = mapped_column(String(32), index=True)
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(64))
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class Job(Base):
    """A durable unit of background work; a job exists exactly when its row commits."""

    __tablename__ = "jobs"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_by: Mapped[str | None] = mapped_column(String(64))
    heartbeat_at: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()


class LogEntry(Base):
    """One log line of a service: from its build (``source`` "build") or a replica ("app"), or
    a platform notice ("system", e.g. a drop marker). Searched by ``logs/`` (FTS5 trigram on
    SQLite, pg_trgm on PostgreSQL, created by migration 0002)."""

    __tablename__ = "log_entries"
    __table_args__ = (
        Index("ix_log_entries_service_id_id", "service_id", "id"),
        Index("ix_log_entries_deployment_id_id", "deployment_id", "id"),
    )
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    service_id: Mapped[str] = mapped_column(String(32))
    deployment_id: Mapped[str | None] = mapped_column(String(32))
    replica: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(8))
    stream: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(index=True)
    line: Mapped[str] = mapped_column(Text)


class GitHubConnection(Base):
    """A service deployed from a GitHub repository (issue 6); token and secret sealed."""

    __tablename__ = "github_connections"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    service_id: Mapped[str] = mapped_column(ForeignKey("services.id"), unique=True)
    repo: Mapped[str] = mapped_column(String(200), index=True)  # owner/name
    branch: Mapped[str] = mapped_column(String(255))
    clone_url: Mapped[str] = mapped_column(String(500))
    token_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    token_key_id: Mapped[str] = mapped_column(String(32))
    secret_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    secret_key_id: Mapped[str] = mapped_column(String(32))
    wait_for_ci: Mapped[bool] = mapped_column(Boolean, default=False)
    previews: Mapped[bool] = mapped_column(Boolean, default=False)
    preview_secrets: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    service: Mapped[Service] = relationship()


class WebhookDelivery(Base):
    """A GitHub delivery id seen once: a second delivery with the same id is a replay."""

    __tablename__ = "webhook_deliveries"
    delivery_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event: Mapped[str] = mapped_column(String(40))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class PendingDeployment(Base):
    """A pushed commit on its way to a deployment: waiting for CI, deploying, or skipped."""

    __tablename__ = "pending_deployments"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    connection_id: Mapped[str] = mapped_column(ForeignKey("github_connections.id"), index=True)
    commit_sha: Mapped[str] = mapped_column(String(40), index=True)
    before_sha: Mapped[str | None] = mapped_column(String(40))
    branch: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), index=True)  # see core/gitrefs.py
    reason: Mapped[str | None] = mapped_column(Text)
    deployment_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Preview(Base):
    """The preview environment of one pull request and the PR comment that announces it."""

    __tablename__ = "previews"
    __table_args__ = (UniqueConstraint("connection_id", "number"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    connection_id: Mapped[str] = mapped_column(ForeignKey("github_connections.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))  # open | closed
    head_sha: Mapped[str] = mapped_column(String(40))
    environment_id: Mapped[str | None] = mapped_column(String(32))
    deployment_id: Mapped[str | None] = mapped_column(String(32))
    comment_id: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Domain(Base):
    """A custom hostname routed to one service, with its DNS verification and certificate state.

    ``hostname`` is unique across all teams: a name belongs to exactly one service. States and
    transitions are in ``core/domains.py``; ``control/domains.py`` moves them forward.
    """

    __tablename__ = "domains"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    service_id: Mapped[str] = mapped_column(ForeignKey("services.id"), index=True)
    hostname: Mapped[str] = mapped_column(String(253), unique=True)
    token: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), index=True)
    reason: Mapped[str | None] = mapped_column(Text)  # what is missing, or why issuance failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_check_at: Mapped[datetime | None] = mapped_column()
    checked_at: Mapped[datetime | None] = mapped_column()
    verified_at: Mapped[datetime | None] = mapped_column()
    issuing_since: Mapped[datetime | None] = mapped_column()
    expires_at: Mapped[datetime | None] = mapped_column()
    issuer: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    service: Mapped[Service] = relationship()
