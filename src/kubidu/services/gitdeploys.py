"""Recording a deployment of a git commit: the sibling of ``deployments.create_from_upload``.

Called by use-cases that have already authorized the caller or the webhook (``gitpush``,
``github``, ``previews``): it takes the service row itself, seals the env snapshot, records the
commit and branch, enqueues the ``deploy`` job in the caller's transaction and moves the source
tarball into the platform's store last, so a rollback leaves nothing moved. The deploy pipeline
then builds it exactly like an upload.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy.orm import Session

from kubidu.services import deployments
from kubidu.services.context import Actor, Platform
from kubidu.store.models import Deployment, Service, new_id


def record(
    session: Session,
    p: Platform,
    *,
    service: Service,
    tarball: Path,
    commit: str,
    branch: str,
    actor: Actor | None,
    copy: bool = False,
) -> Deployment:
    """Add a queued deployment of ``tarball`` (moved, or copied when ``copy``) to ``service``."""
    deployment_id = new_id("dep")
    stored = p.uploads_dir / f"{deployment_id}.tar.gz"
    row = deployments.queue(
        session,
        p,
        service=service,
        actor=actor,
        details={"commit": commit, "branch": branch},
        id=deployment_id,
        message=f"git {branch} {commit[:12]}",
        source_path=str(stored),
        trigger="git",
        git_commit=commit,
        git_branch=branch,
    )
    (shutil.copyfile if copy else shutil.move)(tarball, stored)
    return row
