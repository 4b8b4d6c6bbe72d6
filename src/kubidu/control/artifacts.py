"""Pruning the artifacts of old deployments, so releases and images don't pile up forever.

Called by the housekeeper (``retention.py``) on every pass. The newest ``keep`` successful
deployments of each service keep their artifact (that is what ``kubidu rollback`` can go back
to); the artifacts of older finished deployments — superseded, failed or cancelled — are marked
``artifact_pruned`` and handed to ``discard`` (the builder's: it deletes a release directory or
untags an image it built), unless a deployment that still needs the artifact uses it too
(releases are content-addressed, so an unchanged app shares one).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from kubidu.core.states import DeploymentStatus
from kubidu.store.db import Database
from kubidu.store.models import Deployment, Service

_SUCCESSFUL = (DeploymentStatus.ACTIVE, DeploymentStatus.SUPERSEDED)
_FINISHED = (DeploymentStatus.SUPERSEDED, DeploymentStatus.FAILED, DeploymentStatus.CANCELLED)


class ArtifactPruner:
    def __init__(self, *, db: Database, discard: Callable[[str], None], keep: int) -> None:
        self._db, self._discard, self._keep = db, discard, keep

    def prune_all(self) -> int:
        with self._db.transaction() as session:
            service_ids = session.scalars(select(Service.id)).all()
        return sum(self.prune_service(service_id) for service_id in service_ids)

    def prune_service(self, service_id: str) -> int:
        with self._db.transaction() as session:
            kept = {d.id for d in _newest_successful(session, service_id, self._keep)}
            victims = [d for d in _finished_unpruned(session, service_id) if d.id not in kept]
            for deployment in victims:
                deployment.artifact_pruned = True
            session.flush()
            still_used = {d.artifact for d in _unpruned(session)}
            doomed = {d.artifact for d in victims} - still_used - {None}
        for artifact in doomed:
            if artifact is not None:
                self._discard(artifact)
        return len(victims)


def _newest_successful(session: Session, service_id: str, keep: int) -> list[Deployment]:
    return list(
        session.scalars(
            select(Deployment)
            .where(
                Deployment.service_id == service_id,
                Deployment.status.in_([s.value for s in _SUCCESSFUL]),
            )
            .order_by(Deployment.created_at.desc())
            .limit(keep)
        ).all()
    )


def _finished_unpruned(session: Session, service_id: str) -> list[Deployment]:
    return list(
        session.scalars(
            select(Deployment).where(
                Deployment.service_id == service_id,
                Deployment.status.in_([s.value for s in _FINISHED]),
                Deployment.artifact_pruned.is_(False),
                Deployment.artifact.is_not(None),
            )
        ).all()
    )


def _unpruned(session: Session) -> list[Deployment]:
    return list(
        session.scalars(select(Deployment).where(Deployment.artifact_pruned.is_(False))).all()
    )
