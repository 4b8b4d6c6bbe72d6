"""Preview environments of pull requests: ``pr-<N>`` forked from the connected service's
environment, and their removal when the pull request closes.

Called inside the webhook's transaction (:func:`note_event` records what the PR wants: open at a
commit, or closed) and by the ``github.preview`` job in ``control/github.py``, which converges
to that wish level-based: :func:`ensure` creates the environment, a copy of the service and of
the env vars — minus those marked secret unless the connection allows them — and :func:`remove`
deletes every row of the environment once no job still works on its deployments.
"""

from __future__ import annotations

import secrets as pysecrets
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from kubidu.core.errors import Conflict
from kubidu.core.names import generated_hostname_label
from kubidu.security.crypto import Keyring
from kubidu.services import audit
from kubidu.services.context import Platform
from kubidu.store.models import (
    Deployment,
    Environment,
    EnvVar,
    GitHubConnection,
    LogEntry,
    Preview,
    Service,
    new_id,
    utcnow,
)

OPEN, CLOSED = "open", "closed"
ENV_SCOPE = "env"


@dataclass(frozen=True)
class PreviewTarget:
    """What the job needs to deploy a preview: its service and the commit."""

    preview_id: str
    service_id: str
    head_sha: str
    deployed_sha: str | None


def environment_name(number: int) -> str:
    return f"pr-{number}"


def note_event(
    session: Session, conn: GitHubConnection, *, number: int, sha: str, action: str
) -> str | None:
    """Record a pull_request event; returns the preview id to converge, or None."""
    row = session.scalars(
        select(Preview).where(Preview.connection_id == conn.id, Preview.number == number)
    ).first()
    if row is None:
        if action == "closed":
            return None
        row = Preview(
            id=new_id("prv"), connection_id=conn.id, number=number, state=OPEN, head_sha=sha
        )
        session.add(row)
        return row.id
    if action == "closed":
        row.state = CLOSED
    elif row.state == OPEN or action == "reopened":
        row.state, row.head_sha = OPEN, sha  # a late "synchronize" never reopens a closed PR
    row.updated_at = utcnow()
    return row.id


def ensure(p: Platform, preview_id: str) -> PreviewTarget | None:
    """Create the preview's environment, service and env vars if missing (None if closed)."""
    with p.db.transaction() as session:
        row = session.get_one(Preview, preview_id)
        if row.state != OPEN:
            return None
        conn = session.get_one(GitHubConnection, row.connection_id)
        env = _environment(session, row, conn)
        svc = _service(session, p, env, conn)
        deployed = session.get(Deployment, row.deployment_id) if row.deployment_id else None
        return PreviewTarget(
            row.id, svc.id, row.head_sha, deployed.git_commit if deployed else None
        )


def _environment(session: Session, row: Preview, conn: GitHubConnection) -> Environment:
    if row.environment_id is not None:
        return session.get_one(Environment, row.environment_id)
    base = conn.service.environment
    name = environment_name(row.number)
    if session.scalars(
        select(Environment.id).where(
            Environment.project_id == base.project_id, Environment.name == name
        )
    ).first():
        raise Conflict(f"environment {name!r} already exists and is not this preview's")
    env = Environment(id=new_id("env"), project_id=base.project_id, name=name, project=base.project)
    session.add(env)
    row.environment_id = env.id
    audit.record(
        session,
        actor=None,
        team_id=base.project.team_id,
        action="preview.create",
        obj=("environment", env.id),
        details={"pull_request": row.number, "repo": conn.repo},
    )
    return env


def _service(session: Session, p: Platform, env: Environment, conn: GitHubConnection) -> Service:
    base = conn.service
    found = session.scalars(
        select(Service).where(Service.environment_id == env.id, Service.name == base.name)
    ).first()
    if found is not None:
        return found
    svc = Service(
        id=new_id("svc"),
        environment_id=env.id,
        environment=env,
        name=base.name,
        hostname=_hostname(session, p, base.name, env),
        replicas=min(base.replicas, 1) or 1,
        health_path=base.health_path,
        generation=0,
    )
    session.add(svc)
    session.flush()
    _copy_vars(session, p.keyring, base, svc, with_secrets=conn.preview_secrets)
    return svc


def _hostname(session: Session, p: Platform, service: str, env: Environment) -> str:
    label = generated_hostname_label(
        service=service, environment=env.name, project=env.project.name
    )
    candidate = f"{label}.{p.base_domain}"
    while session.scalars(select(Service.id).where(Service.hostname == candidate)).first():
        candidate = f"{label}-{pysecrets.token_hex(2)}.{p.base_domain}"
    return candidate


def _var_context(environment_id: str, scope: str, key: str) -> str:
    return f"envvar:{environment_id}:{scope}:{key}"  # as services/envvars.py seals them


def _copy_vars(
    session: Session, keyring: Keyring, base: Service, svc: Service, *, with_secrets: bool
) -> None:
    rows = session.scalars(
        select(EnvVar).where(
            EnvVar.environment_id == base.environment_id, EnvVar.scope.in_([ENV_SCOPE, base.id])
        )
    ).all()
    for var in rows:
        if var.secret and not with_secrets:
            continue
        scope = ENV_SCOPE if var.scope == ENV_SCOPE else svc.id
        plain = keyring.open(
            var.key_id, var.ciphertext, context=_var_context(var.environment_id, var.scope, var.key)
        )
        key_id, blob = keyring.seal(plain, context=_var_context(svc.environment_id, scope, var.key))
        session.add(
            EnvVar(
                id=new_id("var"),
                environment_id=svc.environment_id,
                scope=scope,
                key=var.key,
                ciphertext=blob,
                key_id=key_id,
                secret=var.secret,
            )
        )


def record_deployment(p: Platform, preview_id: str, deployment_id: str) -> None:
    with p.db.transaction() as session:
        session.get_one(Preview, preview_id).deployment_id = deployment_id


def deployment_ids(p: Platform, preview_id: str) -> tuple[str | None, list[str]]:
    """(environment id, ids of every deployment in it)."""
    with p.db.transaction() as session:
        row = session.get_one(Preview, preview_id)
        if row.environment_id is None:
            return None, []
        ids = session.scalars(
            select(Deployment.id).join(Service).where(Service.environment_id == row.environment_id)
        ).all()
        return row.environment_id, list(ids)


def remove(p: Platform, preview_id: str) -> list[str]:
    """Delete the closed preview's environment and everything in it; returns service ids."""
    with p.db.transaction() as session:
        row = session.get_one(Preview, preview_id)
        if row.state != CLOSED or row.environment_id is None:
            return []
        env = session.get_one(Environment, row.environment_id)
        service_ids = list(
            session.scalars(select(Service.id).where(Service.environment_id == env.id)).all()
        )
        session.execute(delete(LogEntry).where(LogEntry.service_id.in_(service_ids)))
        session.execute(delete(Deployment).where(Deployment.service_id.in_(service_ids)))
        session.execute(delete(EnvVar).where(EnvVar.environment_id == env.id))
        session.execute(delete(Service).where(Service.environment_id == env.id))
        audit.record(
            session,
            actor=None,
            team_id=env.project.team_id,
            action="preview.remove",
            obj=("environment", env.id),
            details={"pull_request": row.number},
        )
        session.delete(env)
        row.environment_id, row.deployment_id = None, None
        return service_ids
