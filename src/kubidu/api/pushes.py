"""One ``git push`` as the pre-receive hook sees it: deploy each pushed branch, stream the log.

``api/git.py`` opens a :class:`PushSession` for every receive-pack request: a private Unix
socket the repository's hook (``kubidu.git.hook``) connects to with the pushed updates. The
session queues the deployments (``services/gitpush.py``), follows their build logs and sends
every line back; git shows them to the pusher as ``remote: ...``. The last message is the exit
code: non-zero rejects the push, so a branch only moves to a commit that went live.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from kubidu.core.errors import KubiduError
from kubidu.core.gitrefs import branch_of_ref, is_deletion
from kubidu.core.states import IN_FLIGHT, DeploymentStatus
from kubidu.services import deployments, gitpush
from kubidu.services.context import Actor, Platform
from kubidu.services.views import DeploymentView

Say = Callable[[str], Awaitable[None]]
_POLL_S = 0.2


class PushSession:
    def __init__(self, p: Platform, actor: Actor, repo: gitpush.RepoRef) -> None:
        self._p, self._actor, self._repo = p, actor, repo
        self.dir = Path(tempfile.mkdtemp(prefix="kb-push-"))
        self.socket = self.dir / "s"
        self._server: asyncio.AbstractServer | None = None

    @property
    def env(self) -> dict[str, str]:
        return {"KUBIDU_PUSH_SOCKET": str(self.socket), "KUBIDU_PUSH_DIR": str(self.dir)}

    async def start(self) -> None:
        self._server = await asyncio.start_unix_server(self._serve, path=str(self.socket))

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
        shutil.rmtree(self.dir, ignore_errors=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async def say(line: str) -> None:
            writer.write(json.dumps({"line": line}).encode() + b"\n")
            await writer.drain()

        try:
            request = json.loads(await reader.readline())
            code = await self._handle(request.get("updates", []), say)
        except Exception as exc:  # the pusher must hear why, whatever went wrong
            await say(f"kubidu: internal error: {type(exc).__name__}")
            code = 1
        writer.write(json.dumps({"exit": code}).encode() + b"\n")
        with contextlib.suppress(ConnectionError):
            await writer.drain()
            writer.close()

    async def _handle(self, updates: list[dict[str, Any]], say: Say) -> int:
        code = 0
        for update in updates:
            code = max(code, await self._update(update, say))
        return code

    async def _update(self, update: dict[str, Any], say: Say) -> int:
        try:
            branch = branch_of_ref(str(update.get("ref", "")))
        except KubiduError as exc:
            await say(f"kubidu: rejected: {exc.message}")
            return 1
        if branch is None or is_deletion(str(update.get("new", ""))) or "archive" not in update:
            return 0
        try:
            views = await asyncio.to_thread(
                gitpush.deploy_push,
                self._p,
                actor=self._actor,
                repo=self._repo,
                branch=branch,
                sha=str(update["new"]),
                tarball=Path(update["archive"]),
            )
        except KubiduError as exc:
            await say(f"kubidu: rejected: {exc.message}")
            return 1
        if not views:
            await say(f"kubidu: branch {branch} is tracked by no environment: nothing deployed")
            return 0
        results = [await self._follow(view, say) for view in views]
        return max(results)

    async def _follow(self, view: DeploymentView, say: Say) -> int:
        await say(f"kubidu: deployment {view.id} of {self._repo.service} queued")
        after = 0
        while True:
            lines, now = await asyncio.to_thread(
                deployments.build_log,
                self._p,
                actor=self._actor,
                deployment_id=view.id,
                after=after,
            )
            for line in lines:
                after = line.id
                await say(line.line)
            if not lines and DeploymentStatus(now.status) not in IN_FLIGHT:
                break
            if not lines:
                await asyncio.sleep(_POLL_S)
        if now.status == DeploymentStatus.ACTIVE:
            await say(f"kubidu: deployed {view.id}: live at {now.url}")
            return 0
        await say(f"kubidu: deploy {now.status}: {now.failure_reason or 'no reason given'}")
        return 1
