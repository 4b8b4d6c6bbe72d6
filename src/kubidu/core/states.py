"""Deployment and job state machines.

A deployment moves forward only: queued → building → deploying → active → superseded, or
ends ``failed``/``cancelled``. Keeping the transitions here lets services and workers reject
illegal moves (for example a late worker marking a superseded deployment active).
"""

from enum import StrEnum

from kubidu.core.errors import Conflict


class DeploymentStatus(StrEnum):
    QUEUED = "queued"
    BUILDING = "building"
    DEPLOYING = "deploying"
    ACTIVE = "active"
    SUPERSEDED = "superseded"
    FAILED = "failed"
    CANCELLED = "cancelled"


_ALLOWED: dict[DeploymentStatus, frozenset[DeploymentStatus]] = {
    DeploymentStatus.QUEUED: frozenset(
        {
            DeploymentStatus.BUILDING,
            DeploymentStatus.DEPLOYING,
            DeploymentStatus.FAILED,
            DeploymentStatus.CANCELLED,
        }
    ),
    DeploymentStatus.BUILDING: frozenset(
        {DeploymentStatus.DEPLOYING, DeploymentStatus.FAILED, DeploymentStatus.CANCELLED}
    ),
    DeploymentStatus.DEPLOYING: frozenset({DeploymentStatus.ACTIVE, DeploymentStatus.FAILED}),
    DeploymentStatus.ACTIVE: frozenset({DeploymentStatus.SUPERSEDED}),
    DeploymentStatus.SUPERSEDED: frozenset({DeploymentStatus.ACTIVE}),
    DeploymentStatus.FAILED: frozenset(),
    DeploymentStatus.CANCELLED: frozenset(),
}

TERMINAL = frozenset({DeploymentStatus.FAILED, DeploymentStatus.CANCELLED})
IN_FLIGHT = frozenset(
    {DeploymentStatus.QUEUED, DeploymentStatus.BUILDING, DeploymentStatus.DEPLOYING}
)


def check_transition(current: DeploymentStatus, new: DeploymentStatus) -> None:
    """Raise :class:`Conflict` unless ``current → new`` is a legal move."""
    if new not in _ALLOWED[current]:
        raise Conflict(f"deployment cannot move from {current} to {new}")


class JobStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"
    VIEWER = "viewer"


_ROLE_RANK = {Role.VIEWER: 0, Role.MEMBER: 1, Role.ADMIN: 2, Role.OWNER: 3}


def role_allows(role: Role, needed: Role) -> bool:
    """True when ``role`` is at least as strong as ``needed``."""
    return _ROLE_RANK[role] >= _ROLE_RANK[needed]
