"""Pruning the artifacts of old deployments, so releases don't pile up on disk forever.

The newest ``keep`` successful deployments of each service keep their artifact (that is what
``kubidu rollback`` can go back to); older ones are marked ``artifact_pruned`` and their
release directory is deleted — unless a deployment that is kept uses the same directory
(releases are content-addressed, so an unchanged app shares one).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from kubidu.core.states import DeploymentStatus
from kubidu.store.db import Database
from kubidu.store.models import Deployment, Service

_SUCCESSFUL = (DeploymentStatus.ACTIVE, DeploymentStatus.SUPERSEDED)


class ArtifactPruner:
    def __init__(self, *, db: Database, releases_dir: Path, keep: int) -> None:
        self._db, self._releases_dir, self._keep = db, releases_dir.resolve(), keep

    def prune_all(self) -> int:
        with self._db.transaction() as session:
            service_ids = session.scalars(select(Service.id)).all()
        return sum(self.prune_service(service_id) for service_id in service_ids)

    def prune_service(self, service_id: str) -> int:
        with self._db.transaction() as session:
            successful = _successful(session, service_id)
            kept, old = successful[: self._keep], successful[self._keep :]
            victims = [d for d in old if not d.artifact_pruned]
            for deployment in victims:
                deployment.artifact_pruned = True
            still_used = {d.artifact for d in _unpruned(session)} - {None}
        for deployment in victims:
            self._delete(deployment.artifact, still_used | {d.artifact for d in kept})
        return len(victims)

    def _delete(self, artifact: str | None, still_used: set[str | None]) -> None:
        if artifact is None or artifact in still_used:
            return
        path = Path(artifact).resolve()
        if self._releases_dir in path.parents:  # never an image ref or a foreign path
            _make_writable(path)
            shutil.rmtree(path, ignore_errors=True)


def _successful(session: Session, service_id: str) -> list[Deployment]:
    return list(
        session.scalars(
            select(Deployment)
            .where(
                Deployment.service_id == service_id,
                Deployment.status.in_([s.value for s in _SUCCESSFUL]),
            )
            .order_by(Deployment.created_at.desc())
        ).all()
    )


def _unpruned(session: Session) -> list[Deployment]:
    return list(
        session.scalars(select(Deployment).where(Deployment.artifact_pruned.is_(False))).all()
    )


def _make_writable(root: Path) -> None:
    """Sealed releases have read-only directories; rmtree needs to unlink inside them."""
    for directory in [root, *(p for p in root.rglob("*") if p.is_dir() and not p.is_symlink())]:
        directory.chmod(0o700)
