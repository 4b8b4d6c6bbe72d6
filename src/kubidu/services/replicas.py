"""Use-cases that read what the runtime holds for a service: its replicas."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kubidu.core.states import Role
from kubidu.services import access
from kubidu.services.context import Actor, Platform


@dataclass(frozen=True)
class ReplicaView:
    id: str
    deployment_id: str
    state: str
    address: str | None
    restarts: int
    started_at: datetime | None


def service_id(
    p: Platform, *, actor: Actor, path: tuple[str, str, str], team: str | None = None
) -> str:
    """Authorize a read of the service and return its runtime key."""
    with p.db.transaction() as session:
        return access.service(session, actor, path, team=team, needed=Role.VIEWER).service.id


async def list_replicas(
    p: Platform, *, actor: Actor, path: tuple[str, str, str], team: str | None = None
) -> list[ReplicaView]:
    key = service_id(p, actor=actor, path=path, team=team)
    replicas = await p.runtime.observe(key)
    return [
        ReplicaView(
            r.replica_id, r.deployment_id, str(r.state), r.address, r.restarts, r.started_at
        )
        for r in replicas
    ]
