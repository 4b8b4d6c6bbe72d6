"""The image builder of ``--runtime docker``: uploaded source in, a tagged Docker image out.

Called by the deploy pipeline (chosen by ``bootstrap.py`` instead of the release builder when
the runtime is docker). It unpacks the upload safely, takes the app's own ``Dockerfile`` or
generates one (``dockerfiles.py``), and builds through the Engine API with the classic builder,
streaming every output line into the deployment's build log as it comes. The Engine's layer
cache makes a redeploy that only changed app code reuse the dependency layers. Images are
tagged ``kubidu-apps/<team>:<deployment>`` and labelled with the team they were built for;
before building, every image the Dockerfile starts from or copies from is looked up, and one
built for another team is refused (one Engine holds every team's images). Static sites fall
back to the release builder (the edge serves them from a release directory).
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import shutil
import tarfile
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from docker import APIClient
from docker.errors import APIError, DockerException, ImageNotFound

from kubidu.builds.builder import Builder, BuildResult
from kubidu.builds.dockerfile_refs import referenced_images
from kubidu.builds.dockerfiles import GENERATED_IGNORE, BaseImages, ImagePlan, plan_image
from kubidu.builds.stream import BuildFailed, LogFn
from kubidu.core.errors import InvalidInput
from kubidu.core.images import BUILT_FOR_TEAM_LABEL, built_for_other_team, validate_image_ref

_logger = logging.getLogger(__name__)
IMAGE_REPOSITORY = "kubidu-apps"
_TAG_PART = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,127}$")
_DONE = object()


class DockerImageBuilder(Builder):
    """Builds Docker images for every team; one instance per server."""

    def __init__(self, *, api: APIClient, bases: BaseImages, **release_builder: Any) -> None:
        super().__init__(**release_builder)
        self._api = api
        self._bases = bases

    async def build(
        self, source: Path, *, owner: str, run_as: str | None, log: LogFn
    ) -> BuildResult:
        started = time.monotonic()
        staging = self._work_dir / f"image-{secrets.token_hex(8)}"
        try:
            await log("==> Unpacking upload")
            await asyncio.to_thread(self._extract, source, staging)
            plan = await asyncio.to_thread(plan_image, staging, bases=self._bases)
            if plan is None:
                await log("==> Static site: served by the edge, no image needed")
                return await super().build(source, owner=owner, run_as=run_as, log=log)
            await asyncio.to_thread(self._check_sources, _dockerfile_of(staging, plan), owner)
            tag = image_tag(owner, source)
            await log(f"==> Building image {tag} ({_describe(plan)})")
            cache_hit = await self._build_image(staging, plan, tag, log, owner=owner)
        finally:
            await asyncio.to_thread(shutil.rmtree, staging, True)
        image_id = await asyncio.to_thread(lambda: str(self._api.inspect_image(tag)["Id"]))
        await log(f"==> Image built in {time.monotonic() - started:.1f} s: {image_id[:19]}")
        return BuildResult(
            artifact=tag,
            kind=plan.kind,
            command=plan.command,
            env={},
            cache_hit=cache_hit,
            digest=image_id.removeprefix("sha256:"),
            release_command=plan.release_command,
            health_path=plan.health_path,
        )

    def discard(self, artifact: str) -> None:
        """Untag an image this builder made (layers other images share stay); a static site's
        release directory goes the release builder's way; other images are never touched."""
        if not artifact.startswith(f"{IMAGE_REPOSITORY}/"):
            super().discard(artifact)
            return
        try:
            self._api.remove_image(artifact)
        except ImageNotFound:
            pass  # already gone
        except APIError as exc:  # e.g. a stray container still uses it: say so, go on
            _logger.warning("could not remove image %s: %s", artifact, exc)

    def _check_sources(self, dockerfile: str, owner: str) -> None:
        """Refuse a Dockerfile that reads from an image Kubidu built for another team."""
        try:
            refs = [validate_image_ref(ref) for ref in referenced_images(dockerfile)]
        except InvalidInput as exc:
            raise BuildFailed(str(exc)) from exc
        for ref in refs:
            try:
                config = self._api.inspect_image(ref).get("Config") or {}
            except ImageNotFound:
                continue  # not on this host: the Engine pulls it, so no team built it here
            if built_for_other_team(config.get("Labels"), owner):
                raise BuildFailed(f"the Dockerfile uses {ref!r}, an image of another team")
            if any("--from" in trigger.lower() for trigger in config.get("OnBuild") or []):
                raise BuildFailed(f"{ref!r} has ONBUILD triggers that copy from other images")

    async def _build_image(
        self, src: Path, plan: ImagePlan, tag: str, log: LogFn, *, owner: str
    ) -> bool:
        """Run the Engine build, log its lines live; True when every step came from cache."""
        if plan.dockerfile is not None:
            (src / "Dockerfile").write_text(plan.dockerfile)
            if not (src / ".dockerignore").exists():
                (src / ".dockerignore").write_text(GENERATED_IGNORE)
        with tempfile.TemporaryFile(dir=self._work_dir) as context:
            await asyncio.to_thread(_tar, src, context)
            steps = cached = 0
            lines = _stream(self._api, context, tag=tag, owner=owner, timeout=self._timeout)
            async for line in lines:
                steps += line.startswith("Step ")
                cached += "Using cache" in line
                await log(line)
        return steps > 0 and cached >= steps - 1  # every step after FROM came from cache


def image_tag(owner: str, source: Path) -> str:
    """``kubidu-apps/<team>:<deployment>`` (uploads are stored as ``<deployment>.tar.gz``)."""
    deployment = source.name.split(".", 1)[0].lower()
    if not _TAG_PART.match(deployment):
        deployment = secrets.token_hex(8)
    team = owner.lower() if _TAG_PART.match(owner.lower()) else "team"
    return f"{IMAGE_REPOSITORY}/{team}:{deployment}"


def _dockerfile_of(src: Path, plan: ImagePlan) -> str:
    if plan.dockerfile is not None:
        return plan.dockerfile
    return (src / "Dockerfile").read_text(encoding="utf-8", errors="replace")


def _describe(plan: ImagePlan) -> str:
    return (
        "the app's Dockerfile" if plan.dockerfile is None else f"generated {plan.kind} Dockerfile"
    )


def _tar(src: Path, into: Any) -> None:
    with tarfile.open(fileobj=into, mode="w") as tar:
        tar.add(src, arcname=".")
    into.seek(0)


async def _stream(api: APIClient, context: Any, *, tag: str, owner: str, timeout: float) -> Any:
    """The build's output lines as they come; a failed step raises :class:`BuildFailed`."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[object] = asyncio.Queue()

    def produce() -> None:
        try:
            for item in _engine_build(api, context, tag=tag, owner=owner, timeout=timeout):
                loop.call_soon_threadsafe(queue.put_nowait, item)
        except (APIError, DockerException, OSError) as exc:
            loop.call_soon_threadsafe(queue.put_nowait, BuildFailed(f"image build failed: {exc}"))
        finally:
            loop.call_soon_threadsafe(queue.put_nowait, _DONE)

    worker = asyncio.create_task(asyncio.to_thread(produce))
    tail: list[str] = []
    try:
        while (item := await queue.get()) is not _DONE:
            if isinstance(item, BuildFailed):
                raise item
            text = str(item)
            if text.startswith("\x00error "):
                reason = text.removeprefix("\x00error ")
                raise BuildFailed(f"the Dockerfile failed to build: {reason}\n" + "\n".join(tail))
            tail = [*tail, text][-10:]
            yield text
    finally:
        await worker


def _engine_build(
    api: APIClient, context: Any, *, tag: str, owner: str, timeout: float
) -> Iterator[str]:
    chunks = api.build(
        fileobj=context,
        custom_context=True,
        tag=tag,
        labels={BUILT_FOR_TEAM_LABEL: owner},  # applied last: a Dockerfile LABEL cannot forge it
        rm=True,
        forcerm=True,
        pull=False,
        decode=True,
        timeout=int(timeout),
    )
    for chunk in chunks:
        if "error" in chunk:
            yield "\x00error " + str(chunk["error"]).strip()
            return
        for line in str(chunk.get("stream") or "").splitlines():
            if line.strip():
                yield line.rstrip()
