"""The housekeeper's artifact pruning (``control/artifacts.py``) with the release builder's
``discard``, on SQLite and PostgreSQL, over real (sealed, read-only) release directories.

Aspects checked: the newest ``keep`` successful deployments keep their release; older
superseded ones and failed ones lose theirs (marked ``artifact_pruned``, directory deleted);
a release a kept or running deployment shares survives; deployments still in progress are
never touched; a second pass prunes nothing more; an artifact outside the releases dir is
never deleted.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from kubidu.builds.builder import Builder
from kubidu.builds.tree import seal
from kubidu.control.artifacts import ArtifactPruner
from kubidu.services.context import Platform
from kubidu.store.models import Deployment, new_id, utcnow
from tests.integration.services_fixtures import TenantA

pytest_plugins = ["tests.integration.services_fixtures"]


def _release(root: Path, name: str) -> str:
    path = root / "team" / name
    (path / "lib").mkdir(parents=True)
    (path / "lib" / "app.py").write_text("print('hi')\n")
    seal(path, group=None)
    return str(path)


def _deployments(platform: Platform, service_id: str, rows: list[tuple[str, str]]) -> list[str]:
    """Insert deployments (status, artifact), oldest first; return their ids."""
    ids, start = [], utcnow() - timedelta(hours=1)
    with platform.db.transaction() as session:
        for minute, (status, artifact) in enumerate(rows):
            ids.append(new_id("dep"))
            session.add(
                Deployment(
                    id=ids[-1],
                    service_id=service_id,
                    status=status,
                    artifact=artifact,
                    created_at=start + timedelta(minutes=minute),
                )
            )
    return ids


def _pruned(platform: Platform, ids: list[str]) -> list[bool]:
    with platform.db.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, artifact_pruned FROM deployments")).all()
    flags = {row[0]: bool(row[1]) for row in rows}
    return [flags[i] for i in ids]


def test_old_and_failed_releases_go_shared_and_running_ones_stay(
    platform: Platform, tenant_a: TenantA, tmp_path: Path
) -> None:
    releases = tmp_path / "releases"
    old, failed, shared, kept, building = (
        _release(releases, n) for n in ("old", "failed", "shared", "kept", "building")
    )
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    rows = [
        ("superseded", old),
        ("failed", failed),
        ("failed", str(outside)),
        ("superseded", shared),
        ("failed", building),
        ("superseded", kept),
        ("active", shared),
        ("deploying", building),
    ]
    ids = _deployments(platform, tenant_a.web_id, rows)
    builder = Builder(
        releases_dir=releases,
        cache_dir=tmp_path / "cache",
        work_dir=tmp_path / "work",
        max_bytes=1 << 20,
        max_files=100,
    )
    pruner = ArtifactPruner(db=platform.db, discard=builder.discard, keep=2)

    assert pruner.prune_all() == 5
    assert _pruned(platform, ids) == [True, True, True, True, True, False, False, False]
    survivors = sorted(p.name for p in (releases / "team").iterdir())
    assert survivors == ["building", "kept", "shared"]
    assert outside.is_dir()
    assert pruner.prune_all() == 0
