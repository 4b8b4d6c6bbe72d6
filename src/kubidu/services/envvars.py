"""Use-cases for environment variables: list (masked unless revealed), set, unset, resolve.

Values are sealed with the keyring before they touch the database and are never logged or
audited (audit records name the keys only). A variable is either shared by an environment
(scope ``env``) or belongs to one service (scope = the service id); the service's own value
wins when both exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kubidu.core.errors import InvalidInput
from kubidu.core.names import validate_env_key, validate_env_value
from kubidu.core.states import Role
from kubidu.security.crypto import Keyring
from kubidu.services import access, audit
from kubidu.services.context import Actor, Platform
from kubidu.store.models import EnvVar, Project, new_id, utcnow

MASK = "********"
ENV_SCOPE = "env"
MAX_VARS_PER_CALL = 200


@dataclass(frozen=True)
class EnvVarView:
    key: str
    value: str
    scope: str  # "service" | "environment"
    updated_at: datetime
    secret: bool  # kept out of pull-request previews unless their connection allows it


@dataclass(frozen=True)
class Target:
    """Where variables live: an environment, optionally narrowed to one service."""

    project: Project
    environment_id: str
    scope: str


def _context(environment_id: str, scope: str, key: str) -> str:
    return f"envvar:{environment_id}:{scope}:{key}"


def find_target(
    session: Session, actor: Actor, path: tuple[str, ...], team: str | None, needed: Role
) -> Target:
    """``path`` is (project, environment) or (project, environment, service)."""
    if len(path) == 3:
        ref = access.service(session, actor, (path[0], path[1], path[2]), team=team, needed=needed)
        return Target(ref.project, ref.environment.id, ref.service.id)
    proj = access.project(session, actor, path[0], team=team, needed=needed)
    return Target(proj, access.environment(session, proj, path[1]).id, ENV_SCOPE)


def list_vars(
    p: Platform,
    *,
    actor: Actor,
    path: tuple[str, ...],
    reveal: bool = False,
    team: str | None = None,
) -> list[EnvVarView]:
    """``path`` is (project, environment) or (project, environment, service)."""
    needed = Role.MEMBER if reveal else Role.VIEWER
    with p.db.transaction() as session:
        target = find_target(session, actor, path, team, needed)
        if reveal:
            audit.record(
                session,
                actor=actor,
                team_id=target.project.team_id,
                action="env.reveal",
                obj=("environment", target.environment_id),
                details={"scope": target.scope},
            )
        return [_view(p.keyring, row, reveal) for row in rows_of(session, target)]


def rows_of(session: Session, target: Target) -> list[EnvVar]:
    """The variables stored at ``target``, by key."""
    return list(
        session.scalars(
            select(EnvVar)
            .where(EnvVar.environment_id == target.environment_id, EnvVar.scope == target.scope)
            .order_by(EnvVar.key)
        ).all()
    )


def _view(keyring: Keyring, row: EnvVar, reveal: bool) -> EnvVarView:
    value = MASK
    if reveal:
        context = _context(row.environment_id, row.scope, row.key)
        value = keyring.open(row.key_id, row.ciphertext, context=context).decode()
    scope = "environment" if row.scope == ENV_SCOPE else "service"
    return EnvVarView(row.key, value, scope, row.updated_at, row.secret)


def change_vars(
    p: Platform,
    *,
    actor: Actor,
    path: tuple[str, ...],
    set_vars: dict[str, str],
    unset: list[str],
    secret: bool | None = None,
    team: str | None = None,
) -> list[EnvVarView]:
    """Set and unset variables in one transaction; all validated before anything is written.

    ``secret``, when given, becomes the flag of every variable in ``set_vars``; otherwise a
    changed variable keeps its flag and a new one is not secret.
    """
    _validate(set_vars, unset)
    with p.db.transaction() as session:
        target = find_target(session, actor, path, team, Role.MEMBER)
        existing = {row.key: row for row in rows_of(session, target)}
        for key, value in set_vars.items():
            row = _upsert(session, p.keyring, target, existing.get(key), key, value)
            row.secret = row.secret if secret is None else secret
        for key in unset:
            if key in existing:
                session.delete(existing[key])
        audit.record(
            session,
            actor=actor,
            team_id=target.project.team_id,
            action="env.change",
            obj=("environment", target.environment_id),
            details={"scope": target.scope, "set": sorted(set_vars), "unset": unset}
            | ({} if secret is None else {"secret": secret}),
        )
        session.flush()
        return [_view(p.keyring, row, False) for row in rows_of(session, target)]


def _validate(set_vars: dict[str, str], unset: list[str]) -> None:
    if len(set_vars) + len(unset) > MAX_VARS_PER_CALL:
        raise InvalidInput(f"at most {MAX_VARS_PER_CALL} variables per change")
    if both := sorted(set(set_vars) & set(unset)):
        raise InvalidInput(f"cannot both set and unset {', '.join(both)} in one change")
    for key, value in set_vars.items():
        validate_env_key(key)
        validate_env_value(key, value)
    for key in unset:
        validate_env_key(key)


def _upsert(
    session: Session, keyring: Keyring, target: Target, row: EnvVar | None, key: str, value: str
) -> EnvVar:
    key_id, blob = keyring.seal(
        value.encode(), context=_context(target.environment_id, target.scope, key)
    )
    if row is None:
        row = EnvVar(
            id=new_id("var"),
            environment_id=target.environment_id,
            scope=target.scope,
            key=key,
            ciphertext=blob,
            key_id=key_id,
            secret=False,
        )
        session.add(row)
        return row
    row.ciphertext, row.key_id, row.updated_at = blob, key_id, utcnow()
    return row


def resolve_for_service(
    session: Session, keyring: Keyring, *, environment_id: str, service_id: str
) -> dict[str, str]:
    """The values a deployment of the service runs with: shared ones, overridden by its own."""
    rows = session.scalars(
        select(EnvVar).where(
            EnvVar.environment_id == environment_id, EnvVar.scope.in_([ENV_SCOPE, service_id])
        )
    ).all()
    ordered = sorted(rows, key=lambda r: r.scope != ENV_SCOPE)  # service scope last → wins
    return {
        r.key: keyring.open(
            r.key_id, r.ciphertext, context=_context(r.environment_id, r.scope, r.key)
        ).decode()
        for r in ordered
    }
