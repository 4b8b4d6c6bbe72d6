"""Marking env vars as secret: secret values are not copied into pull-request previews (whose
code comes from any branch, possibly a fork) unless the GitHub connection allows it.

Called by ``api/github.py``; the flag lives on ``env_vars.secret``.
"""

from __future__ import annotations

from sqlalchemy import select

from kubidu.core.errors import InvalidInput
from kubidu.core.names import validate_env_key
from kubidu.core.states import Role
from kubidu.services import access, audit
from kubidu.services.context import Actor, Platform
from kubidu.store.models import EnvVar

ENV_SCOPE = "env"


def mark(
    p: Platform,
    *,
    actor: Actor,
    path: tuple[str, ...],
    keys: list[str],
    secret: bool,
    team: str | None = None,
) -> list[str]:
    """Set the flag on ``keys`` (which must exist); returns every secret key of the scope."""
    for key in keys:
        validate_env_key(key)
    with p.db.transaction() as session:
        if len(path) == 3:
            ref = access.service(
                session, actor, (path[0], path[1], path[2]), team=team, needed=Role.MEMBER
            )
            env_id, scope, team_id = ref.environment.id, ref.service.id, ref.team.id
        else:
            proj = access.project(session, actor, path[0], team=team, needed=Role.MEMBER)
            env_id, scope, team_id = (
                access.environment(session, proj, path[1]).id,
                ENV_SCOPE,
                proj.team_id,
            )
        rows = {
            r.key: r
            for r in session.scalars(
                select(EnvVar).where(EnvVar.environment_id == env_id, EnvVar.scope == scope)
            ).all()
        }
        if missing := sorted(set(keys) - set(rows)):
            raise InvalidInput(f"no such variable: {', '.join(missing)}")
        for key in keys:
            rows[key].secret = secret
        audit.record(
            session,
            actor=actor,
            team_id=team_id,
            action="env.secret",
            obj=("environment", env_id),
            details={"scope": scope, "keys": sorted(keys), "secret": secret},
        )
        return sorted(k for k, r in rows.items() if r.secret)
