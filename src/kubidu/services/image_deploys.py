"""Use-case: deploy a pre-built container image (``kubidu deploy --image REF``), no build.

Like an upload, it seals a snapshot of the env vars and enqueues a ``deploy`` job in the same
transaction; the deployment is created with its artifact (the image reference) already set, so
the pipeline skips the build and goes straight to starting replicas. Only runtimes that can run
images accept it (``Capabilities.images``).
"""

from __future__ import annotations

from kubidu.core.errors import InvalidInput
from kubidu.core.images import validate_image_ref
from kubidu.core.states import Role
from kubidu.services import access, deployments
from kubidu.services.context import Actor, Platform
from kubidu.services.views import IMAGE_KIND, DeploymentView, deployment_view


def create_from_image(
    p: Platform,
    *,
    actor: Actor,
    path: tuple[str, str, str],
    image: str,
    port: int | None = None,
    message: str | None = None,
    team: str | None = None,
) -> DeploymentView:
    """Queue a deploy of ``image``; its replicas get ``PORT`` = ``port`` (default 8000)."""
    _check(p, image, port, message)
    with p.db.transaction() as session:
        ref = access.service(session, actor, path, team=team, needed=Role.MEMBER)
        row = deployments.queue(
            session,
            p,
            service=ref.service,
            actor=actor,
            details={"image": image},
            message=message,
            artifact=image,
            app_kind=IMAGE_KIND,
            command=[],
            build_env={},
            port=port,
        )
        view = deployment_view(row, url=p.service_url(ref.service.hostname))
    p.wake_workers()
    return view


def _check(p: Platform, image: str, port: int | None, message: str | None) -> None:
    validate_image_ref(image)
    if port is not None and not 1 <= port <= 65535:
        raise InvalidInput("port must be between 1 and 65535")
    if message is not None and len(message) > 500:
        raise InvalidInput("message is longer than 500 characters")
    if not p.runtime.capabilities().images:
        name = p.runtime.capabilities().name
        raise InvalidInput(
            f"this server's runtime ({name}) cannot run images; start it with --runtime docker"
        )
