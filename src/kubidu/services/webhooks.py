"""Receiving a GitHub webhook: verify, reject replays, turn the event into durable jobs.

Called by ``api/webhooks.py`` with the raw body. The delivery is accepted only when its
``X-Hub-Signature-256`` matches the secret of a connection of the payload's repository
(constant-time compare); its ``X-GitHub-Delivery`` id is stored in the same transaction as the
jobs it creates, so a replay — even a concurrent one — is refused with nothing done.

Events: ``push`` (a pending deployment of the tracked branch's new commit), ``check_run``,
``check_suite`` and ``status`` (re-evaluate the commit's pending deployments), ``pull_request``
(open/refresh or close the preview), ``ping``. The control layer does the rest level-based.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kubidu.core.errors import InvalidInput, KubiduError, Unauthorized
from kubidu.core.gitrefs import (
    PendingStatus,
    branch_of_ref,
    is_deletion,
    validate_repo,
    validate_sha,
)
from kubidu.github.signatures import verify
from kubidu.services import github, previews
from kubidu.services.context import Platform
from kubidu.store import jobs
from kubidu.store.models import GitHubConnection, PendingDeployment, WebhookDelivery, new_id

MAX_DELIVERY_ID = 64
_CI_EVENTS = frozenset({"check_run", "check_suite", "status"})
_PR_ACTIONS = frozenset({"opened", "synchronize", "reopened", "closed"})


@dataclass(frozen=True)
class Delivery:
    event: str
    delivery_id: str
    signature: str | None
    body: bytes


def receive(p: Platform, delivery: Delivery) -> dict[str, Any]:
    """Handle one delivery; returns a summary of what it queued."""
    payload = _parse(delivery)
    repo = validate_repo(str((payload.get("repository") or {}).get("full_name", "")))
    try:
        with p.db.transaction() as session:
            matched = _verified(session, p, repo, delivery)
            session.add(WebhookDelivery(delivery_id=delivery.delivery_id, event=delivery.event))
            session.flush()  # a replay fails here (primary key), before anything else is written
            queued = _dispatch(session, delivery.event, payload, matched)
    except IntegrityError:
        raise Unauthorized(
            f"delivery {delivery.delivery_id} was already received (replay)"
        ) from None
    if queued:
        p.wake_workers()
    return {"event": delivery.event, "queued": queued}


def _parse(delivery: Delivery) -> dict[str, Any]:
    if (
        not delivery.delivery_id
        or len(delivery.delivery_id) > MAX_DELIVERY_ID
        or not delivery.delivery_id.isprintable()
    ):
        raise Unauthorized("missing or malformed X-GitHub-Delivery")
    if not delivery.signature:
        raise Unauthorized("missing X-Hub-Signature-256")
    try:
        payload = json.loads(delivery.body)
    except ValueError:
        raise InvalidInput("the webhook body is not JSON") from None
    if not isinstance(payload, dict):
        raise InvalidInput("the webhook body is not a JSON object")
    return payload


def _verified(
    session: Session, p: Platform, repo: str, delivery: Delivery
) -> list[GitHubConnection]:
    rows = session.scalars(select(GitHubConnection).where(GitHubConnection.repo == repo)).all()
    matched = [
        r
        for r in rows
        if verify(github.open_secret(p.keyring, r), delivery.body, delivery.signature)
    ]
    if not matched:
        raise Unauthorized("the webhook signature does not match any connection's secret")
    if session.get(WebhookDelivery, delivery.delivery_id) is not None:
        raise Unauthorized(f"delivery {delivery.delivery_id} was already received (replay)")
    return matched


def _dispatch(
    session: Session, event: str, payload: dict[str, Any], conns: list[GitHubConnection]
) -> int:
    if event == "push":
        return sum(_push(session, payload, c) for c in conns)
    if event in _CI_EVENTS:
        return sum(_ci(session, _ci_sha(event, payload), c) for c in conns)
    if event == "pull_request":
        return sum(_pull_request(session, payload, c) for c in conns)
    return 0  # ping and events we do not use: accepted, nothing to do


def _push(session: Session, payload: dict[str, Any], conn: GitHubConnection) -> int:
    branch = branch_of_ref(str(payload.get("ref", "")))
    after = str(payload.get("after", ""))
    if branch != conn.branch or is_deletion(after):
        return 0
    sha = validate_sha(after)
    before = str(payload.get("before", ""))
    if _known(session, conn.id, sha):
        return 0  # the same commit pushed twice (or re-delivered under a new id)
    row = PendingDeployment(
        id=new_id("pend"),
        connection_id=conn.id,
        commit_sha=sha,
        before_sha=before if len(before) == 40 else None,
        branch=branch,
        status=PendingStatus.WAITING if conn.wait_for_ci else PendingStatus.DEPLOYING,
    )
    if _newer_exists(session, conn.id, sha):
        row.status, row.reason = PendingStatus.SUPERSEDED, "a newer push arrived first"
        session.add(row)
        return 0
    _supersede_waiting(session, conn.id)
    session.add(row)
    kind = "github.ci" if conn.wait_for_ci else "github.deploy"
    jobs.enqueue(session, kind=kind, payload={"pending_id": row.id})
    return 1


def _known(session: Session, connection_id: str, sha: str) -> bool:
    return (
        session.scalars(
            select(PendingDeployment.id).where(
                PendingDeployment.connection_id == connection_id,
                PendingDeployment.commit_sha == sha,
            )
        ).first()
        is not None
    )


def _newer_exists(session: Session, connection_id: str, sha: str) -> bool:
    """A push whose parent is ``sha`` arrived already: this delivery is late, not newer."""
    return (
        session.scalars(
            select(PendingDeployment.id).where(
                PendingDeployment.connection_id == connection_id,
                PendingDeployment.before_sha == sha,
            )
        ).first()
        is not None
    )


def _supersede_waiting(session: Session, connection_id: str) -> None:
    for old in session.scalars(
        select(PendingDeployment).where(
            PendingDeployment.connection_id == connection_id,
            PendingDeployment.status == PendingStatus.WAITING,
        )
    ).all():
        github.move(
            session,
            old.id,
            (PendingStatus.WAITING,),
            PendingStatus.SUPERSEDED,
            reason="a newer push superseded it",
        )


def _ci_sha(event: str, payload: dict[str, Any]) -> str:
    if event == "status":
        return validate_sha(str(payload.get("sha", "")))
    return validate_sha(str((payload.get(event) or {}).get("head_sha", "")))


def _ci(session: Session, sha: str, conn: GitHubConnection) -> int:
    waiting = session.scalars(
        select(PendingDeployment.id).where(
            PendingDeployment.connection_id == conn.id,
            PendingDeployment.commit_sha == sha,
            PendingDeployment.status == PendingStatus.WAITING,
        )
    ).all()
    for pending_id in waiting:
        jobs.enqueue(session, kind="github.ci", payload={"pending_id": pending_id})
    return len(waiting)


def _pull_request(session: Session, payload: dict[str, Any], conn: GitHubConnection) -> int:
    action = str(payload.get("action", ""))
    if not conn.previews or action not in _PR_ACTIONS:
        return 0
    pr = payload.get("pull_request") or {}
    number = payload.get("number", pr.get("number"))
    if not isinstance(number, int) or not 0 < number < 10**7:
        raise InvalidInput("pull_request event without a valid number")
    sha = validate_sha(str((pr.get("head") or {}).get("sha", "")))
    preview_id = previews.note_event(session, conn, number=number, sha=sha, action=action)
    if preview_id is None:
        return 0
    jobs.enqueue(session, kind="github.preview", payload={"preview_id": preview_id})
    return 1


__all__ = ["Delivery", "KubiduError", "receive"]
