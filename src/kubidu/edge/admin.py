"""A small client for Caddy's admin API on a unix socket — the only way Kubidu talks to Caddy.

``CaddyEdge`` (``caddy.py``) uses it to probe, load and stop Caddy. Each call opens a short-lived
connection: the socket is local and cheap, and no client object outlives an event loop.
Caddy restarts its admin endpoint after each config load, and a request that reaches the old
endpoint as it closes is dropped unanswered; such a request is sent again (every call here is
safe to repeat: a load replaces the whole config). Errors carry their retry policy:
:class:`EdgeUnavailable` (Caddy not answering; retry later) vs :class:`EdgeConfigRejected`
(Caddy refused the config; retrying the same config cannot help).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

_RESEND_PAUSES = (0.05, 0.2)  # two resends while Caddy restarts its admin endpoint


class EdgeError(Exception):
    """Base of edge failures."""


class EdgeUnavailable(EdgeError):
    """Caddy is not running or its admin API does not answer; retry after ``retry_after`` s."""

    def __init__(self, message: str, *, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class EdgeConfigRejected(EdgeError):
    """Caddy refused a config; the message is Caddy's own explanation."""


class CaddyAdmin:
    """Caddy's admin API at ``socket_path`` (``admin.listen`` = ``unix//<socket_path>``)."""

    def __init__(self, *, socket_path: Path, timeout_s: float = 30.0) -> None:
        self.socket_path = socket_path
        self._timeout_s = timeout_s

    async def ping(self) -> bool:
        """True when a Caddy answers on the socket."""
        try:
            await self._request("GET", "/config/admin")
        except EdgeError:
            return False
        return True

    async def config(self) -> Any:
        """The config Caddy is running, as Caddy reports it."""
        return (await self._request("GET", "/config/")).json()

    async def load(self, config: Mapping[str, Any]) -> None:
        """Replace the whole config; Caddy swaps it in gracefully or keeps the old one."""
        await self._request("POST", "/load", json=config)

    async def stop(self) -> None:
        """Ask Caddy to shut down gracefully (it exits right after answering)."""
        await self._request("POST", "/stop")

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        for pause in _RESEND_PAUSES:
            try:
                return await self._request_once(method, path, **kwargs)
            except EdgeUnavailable as error:
                if not isinstance(error.__cause__, httpx.RemoteProtocolError):
                    raise  # nothing listens, or it timed out: the caller's retry policy decides
                await asyncio.sleep(pause)
        return await self._request_once(method, path, **kwargs)

    async def _request_once(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        transport = httpx.AsyncHTTPTransport(uds=str(self.socket_path))
        async with httpx.AsyncClient(
            transport=transport, base_url="http://localhost", timeout=self._timeout_s
        ) as client:
            try:
                response = await client.request(method, path, **kwargs)
            except httpx.TransportError as error:
                raise EdgeUnavailable(
                    f"Caddy admin API at {self.socket_path}: {error!r}"
                ) from error
        if response.is_error:
            raise EdgeConfigRejected(f"Caddy refused {method} {path}: {_caddy_message(response)}")
        return response


def _caddy_message(response: httpx.Response) -> str:
    # Caddy answers errors as {"error": "..."}; fall back to the raw body for anything else.
    try:
        body = response.json()
    except ValueError:
        return response.text.strip() or f"HTTP {response.status_code}"
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return str(body["error"])
    return response.text.strip()
