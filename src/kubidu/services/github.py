"""Use-cases of GitHub connections: connect a service to a repository, list its pending
(CI-gated) deployments, and deploy one anyway (the audited manual override).

The token and the webhook secret are sealed with the keyring like env vars and never shown
again. Webhook handling lives in ``services/webhooks.py``; the I/O (GitHub's API, cloning) in
``control/github.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kubidu.core.errors import Conflict, InvalidInput, NotFound
from kubidu.core.gitrefs import (
    PendingStatus,
    validate_branch,
    validate_clone_url,
    validate_repo,
)
from kubidu.core.states import Role
from kubidu.security.crypto import Keyring
from kubidu.services import access, audit
from kubidu.services.context import Actor, Platform
from kubidu.store import jobs
from kubidu.store.models import GitHubConnection, PendingDeployment, new_id, utcnow

MAX_SECRET = 256


@dataclass(frozen=True)
class ConnectionView:
    id: str
    service: str
    repo: str
    branch: str
    clone_url: str
    wait_for_ci: bool
    previews: bool
    preview_secrets: bool
    webhook_path: str


@dataclass(frozen=True)
class ConnectRequest:
    repo: str
    token: str
    webhook_secret: str
    branch: str = "main"
    clone_url: str | None = None
    wait_for_ci: bool = False
    previews: bool = False
    preview_secrets: bool = False


@dataclass(frozen=True)
class PendingView:
    id: str
    commit_sha: str
    branch: str
    status: str
    reason: str | None
    deployment_id: str | None
    created_at: datetime
    updated_at: datetime


def token_context(connection_id: str) -> str:
    return f"github-token:{connection_id}"


def secret_context(connection_id: str) -> str:
    return f"github-webhook-secret:{connection_id}"


def _check(req: ConnectRequest) -> str:
    validate_repo(req.repo)
    validate_branch(req.branch)
    for name, value in (("token", req.token), ("webhook secret", req.webhook_secret)):
        if not value or len(value) > MAX_SECRET or not value.isprintable():
            raise InvalidInput(f"the {name} must be 1-{MAX_SECRET} printable characters")
    return validate_clone_url(req.clone_url or f"https://github.com/{req.repo}.git")


def connect(
    p: Platform,
    *,
    actor: Actor,
    path: tuple[str, str, str],
    request: ConnectRequest,
    team: str | None = None,
) -> ConnectionView:
    """Connect (or reconnect, replacing the settings) the service to a GitHub repository."""
    clone_url = _check(request)
    with p.db.transaction() as session:
        ref = access.service(session, actor, path, team=team, needed=Role.ADMIN)
        row = session.scalars(
            select(GitHubConnection).where(GitHubConnection.service_id == ref.service.id)
        ).first()
        if row is None:
            row = GitHubConnection(id=new_id("ghc"), service_id=ref.service.id, service=ref.service)
            session.add(row)
        _fill(row, request, clone_url, p.keyring)
        audit.record(
            session,
            actor=actor,
            team_id=ref.team.id,
            action="github.connect",
            obj=("service", ref.service.id),
            details={
                "repo": request.repo,
                "branch": request.branch,
                "wait_for_ci": request.wait_for_ci,
                "previews": request.previews,
            },
        )
        session.flush()
        return connection_view(row)


def _fill(row: GitHubConnection, req: ConnectRequest, clone_url: str, keyring: Keyring) -> None:
    row.repo, row.branch, row.clone_url = req.repo, req.branch, clone_url
    row.wait_for_ci, row.previews, row.preview_secrets = (
        req.wait_for_ci,
        req.previews,
        req.preview_secrets,
    )
    row.token_key_id, row.token_ciphertext = keyring.seal(
        req.token.encode(), context=token_context(row.id)
    )
    row.secret_key_id, row.secret_ciphertext = keyring.seal(
        req.webhook_secret.encode(), context=secret_context(row.id)
    )


def connection_view(row: GitHubConnection) -> ConnectionView:
    return ConnectionView(
        id=row.id,
        service=row.service.name,
        repo=row.repo,
        branch=row.branch,
        clone_url=row.clone_url,
        wait_for_ci=row.wait_for_ci,
        previews=row.previews,
        preview_secrets=row.preview_secrets,
        webhook_path="/api/v1/webhooks/github",
    )


def open_token(keyring: Keyring, row: GitHubConnection) -> str:
    return keyring.open(
        row.token_key_id, row.token_ciphertext, context=token_context(row.id)
    ).decode()


def open_secret(keyring: Keyring, row: GitHubConnection) -> str:
    plain = keyring.open(row.secret_key_id, row.secret_ciphertext, context=secret_context(row.id))
    return plain.decode()


def _connection(
    session: Session, actor: Actor, path: tuple[str, str, str], team: str | None, needed: Role
) -> GitHubConnection:
    ref = access.service(session, actor, path, team=team, needed=needed)
    row = session.scalars(
        select(GitHubConnection).where(GitHubConnection.service_id == ref.service.id)
    ).first()
    if row is None:
        raise NotFound(f"service {path[2]!r} is not connected to GitHub")
    return row


def get_connection(
    p: Platform, *, actor: Actor, path: tuple[str, str, str], team: str | None = None
) -> ConnectionView:
    with p.db.transaction() as session:
        return connection_view(_connection(session, actor, path, team, Role.VIEWER))


def list_pending(
    p: Platform, *, actor: Actor, path: tuple[str, str, str], team: str | None = None
) -> list[PendingView]:
    """Newest first: what pushes are waiting for CI, were skipped (and why) or deployed."""
    with p.db.transaction() as session:
        conn = _connection(session, actor, path, team, Role.VIEWER)
        rows = session.scalars(
            select(PendingDeployment)
            .where(PendingDeployment.connection_id == conn.id)
            .order_by(PendingDeployment.created_at.desc())
            .limit(100)
        ).all()
        return [pending_view(r) for r in rows]


def pending_view(row: PendingDeployment) -> PendingView:
    return PendingView(
        row.id,
        row.commit_sha,
        row.branch,
        row.status,
        row.reason,
        row.deployment_id,
        row.created_at,
        row.updated_at,
    )


_OVERRIDABLE = (PendingStatus.WAITING, PendingStatus.SKIPPED, PendingStatus.FAILED)


def override(
    p: Platform,
    *,
    actor: Actor,
    path: tuple[str, str, str],
    pending_id: str,
    team: str | None = None,
) -> PendingView:
    """Deploy a waiting or skipped commit anyway, whatever CI says (audited)."""
    with p.db.transaction() as session:
        conn = _connection(session, actor, path, team, Role.MEMBER)
        row = session.get(PendingDeployment, pending_id[:32])
        if row is None or row.connection_id != conn.id:
            raise NotFound(f"pending deployment {pending_id!r} not found")
        if not move(
            session,
            row.id,
            _OVERRIDABLE,
            PendingStatus.DEPLOYING,
            reason=f"deployed anyway by {actor.email}",
        ):
            raise Conflict(f"pending deployment {pending_id} is {row.status}: nothing to override")
        jobs.enqueue(session, kind="github.deploy", payload={"pending_id": row.id})
        audit.record(
            session,
            actor=actor,
            team_id=conn.service.environment.project.team_id,
            action="github.override",
            obj=("pending_deployment", row.id),
            details={"commit": row.commit_sha, "was": row.status},
        )
        session.refresh(row)
        view = pending_view(row)
    p.wake_workers()
    return view


def move(
    session: Session,
    pending_id: str,
    from_: tuple[PendingStatus, ...],
    to: PendingStatus,
    *,
    reason: str | None = None,
    deployment_id: str | None = None,
) -> bool:
    """Conditional transition: True only for the one caller that made it (races lose)."""
    values: dict[str, object] = {"status": to, "updated_at": utcnow()}
    if reason is not None:
        values["reason"] = reason
    if deployment_id is not None:
        values["deployment_id"] = deployment_id
    result = session.execute(
        update(PendingDeployment)
        .where(
            PendingDeployment.id == pending_id,
            PendingDeployment.status.in_([s.value for s in from_]),
        )
        .values(**values)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
