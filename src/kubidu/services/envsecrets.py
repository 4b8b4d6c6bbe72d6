"""Marking env vars as secret: secret values are not copied into pull-request previews (whose
code comes from any branch, possibly a fork) unless the GitHub connection allows it.

Called by ``api/github.py`` for variables that already exist; ``envvars.change_vars`` sets the
same flag while setting values. The flag lives on ``env_vars.secret``.
"""

from __future__ import annotations

from kubidu.core.errors import InvalidInput
from kubidu.core.names import validate_env_key
from kubidu.core.states import Role
from kubidu.services import audit
from kubidu.services.context import Actor, Platform
from kubidu.services.envvars import find_target, rows_of


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
        target = find_target(session, actor, path, team, Role.MEMBER)
        rows = {row.key: row for row in rows_of(session, target)}
        if missing := sorted(set(keys) - set(rows)):
            raise InvalidInput(f"no such variable: {', '.join(missing)}")
        for key in keys:
            rows[key].secret = secret
        audit.record(
            session,
            actor=actor,
            team_id=target.project.team_id,
            action="env.secret",
            obj=("environment", target.environment_id),
            details={"scope": target.scope, "keys": sorted(keys), "secret": secret},
        )
        return sorted(k for k, r in rows.items() if r.secret)
