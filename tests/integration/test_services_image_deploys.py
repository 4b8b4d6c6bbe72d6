"""Use-cases of the docker runtime issue, on SQLite and PostgreSQL.

Aspects checked:
* ``create_from_image`` stores a queued deployment whose artifact is the image (so no build),
  with its port, enqueues its deploy job and audits the image reference;
* malformed references (leading dash, spaces, uppercase, shell characters, too long) and bad
  ports are refused with a reason, and write nothing;
* a runtime that cannot run images refuses them, naming ``--runtime docker``;
* another team gets ``NotFound`` for image deploys and limit changes, and nothing is written;
* ``update_service`` stores CPU and memory limits and refuses out-of-range ones.
"""

from __future__ import annotations

import dataclasses

import pytest

from kubidu.core.errors import InvalidInput, NotFound
from kubidu.runtimes.base import Capabilities
from kubidu.runtimes.fake import FakeRuntime
from kubidu.services import image_deploys, projects
from kubidu.services.context import Actor, Platform
from kubidu.store.models import AuditRecord, Deployment, Service
from tests.integration.services_fixtures import TenantA, count_rows

pytest_plugins = ["tests.integration.services_fixtures"]


class ImageRuntime(FakeRuntime):
    """The in-memory runtime, claiming image support as the docker runtime does."""

    def capabilities(self) -> Capabilities:
        return dataclasses.replace(super().capabilities(), images=True)


@pytest.fixture
def docker_platform(platform: Platform) -> Platform:
    return dataclasses.replace(platform, runtime=ImageRuntime())


def _rows(p: Platform) -> tuple[int, int, int]:
    return tuple(count_rows(p.db, t) for t in ("deployments", "jobs", "audit_records"))  # type: ignore[return-value]


def test_image_deploy_is_queued_without_a_build(
    docker_platform: Platform, admin: Actor, tenant_a: TenantA
) -> None:
    before = _rows(docker_platform)
    view = image_deploys.create_from_image(
        docker_platform, actor=admin, path=tenant_a.web, image="ghcr.io/acme/web:v2", port=8080
    )
    assert view.status == "queued" and view.app_kind == "image"
    after = _rows(docker_platform)
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1, 1]
    with docker_platform.db.transaction() as session:
        row = session.get_one(Deployment, view.id)
        assert (row.artifact, row.port, row.source_path) == ("ghcr.io/acme/web:v2", 8080, None)
        audit = session.query(AuditRecord).order_by(AuditRecord.seq.desc()).first()
        assert audit is not None and audit.details["image"] == "ghcr.io/acme/web:v2"


@pytest.mark.parametrize(
    "image",
    ["-rm", "--help", "a b", "Nginx", "nginx;rm -rf /", "nginx:" + "x" * 200, "", "a@sha256:xyz"],
)
def test_malformed_references_are_refused(
    docker_platform: Platform, admin: Actor, tenant_a: TenantA, image: str
) -> None:
    before = _rows(docker_platform)
    with pytest.raises(InvalidInput):
        image_deploys.create_from_image(
            docker_platform, actor=admin, path=tenant_a.web, image=image
        )
    with pytest.raises(InvalidInput, match="port"):
        image_deploys.create_from_image(
            docker_platform, actor=admin, path=tenant_a.web, image="nginx", port=70000
        )
    assert _rows(docker_platform) == before


def test_a_runtime_without_images_refuses_them(
    platform: Platform, admin: Actor, tenant_a: TenantA
) -> None:
    with pytest.raises(InvalidInput, match="--runtime docker"):
        image_deploys.create_from_image(platform, actor=admin, path=tenant_a.web, image="nginx")


def test_another_team_cannot_deploy_images_or_change_limits(
    docker_platform: Platform, admin: Actor, rival: Actor, tenant_a: TenantA
) -> None:
    before = _rows(docker_platform)
    with pytest.raises(NotFound):
        image_deploys.create_from_image(
            docker_platform, actor=rival, path=tenant_a.web, image="nginx"
        )
    with pytest.raises(NotFound):
        projects.update_service(
            docker_platform, actor=rival, path=tenant_a.web, cpu_limit=0.5, memory_limit_mb=64
        )
    assert _rows(docker_platform) == before
    with docker_platform.db.transaction() as session:
        service = session.get_one(Service, tenant_a.web_id)
        assert (service.cpu_limit, service.memory_limit_mb) == (None, None)


def test_limits_are_stored_and_validated(
    docker_platform: Platform, admin: Actor, tenant_a: TenantA
) -> None:
    view = projects.update_service(
        docker_platform, actor=admin, path=tenant_a.web, cpu_limit=0.5, memory_limit_mb=256
    )
    assert (view.cpu_limit, view.memory_limit_mb) == (0.5, 256)
    for bad in ({"cpu_limit": 0.0}, {"cpu_limit": 100.0}, {"memory_limit_mb": 8}):
        with pytest.raises(InvalidInput):
            projects.update_service(docker_platform, actor=admin, path=tenant_a.web, **bad)  # type: ignore[arg-type]
    view = projects.update_service(docker_platform, actor=admin, path=tenant_a.web, replicas=2)
    assert (view.replicas, view.cpu_limit, view.memory_limit_mb) == (2, 0.5, 256)
