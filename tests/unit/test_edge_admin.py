"""The Caddy admin client resends a request that an admin endpoint closed unanswered.

Caddy restarts its admin endpoint after each config load; a request reaching the old endpoint
as it closes gets no answer. Checked against a real unix socket server: a request dropped
twice is answered on the third try; one dropped every time ends in ``EdgeUnavailable``; a
socket nobody listens on is unavailable.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from kubidu.edge.admin import CaddyAdmin, EdgeUnavailable

pytestmark = pytest.mark.anyio

OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@asynccontextmanager
async def _admin_dropping(drops: int) -> AsyncIterator[tuple[Path, Callable[[], int]]]:
    """An admin socket that closes the first ``drops`` connections unanswered."""
    seen = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal seen
        seen += 1
        await reader.readuntil(b"\r\n\r\n")
        if seen > drops:
            writer.write(OK)
            await writer.drain()
        writer.close()

    with tempfile.TemporaryDirectory() as tmp:  # short path: unix sockets are capped at 108
        path = Path(tmp) / "admin.sock"
        server = await asyncio.start_unix_server(serve, path=str(path))
        async with server:
            yield path, lambda: seen


async def test_dropped_twice_then_answered() -> None:
    async with _admin_dropping(2) as (path, seen):
        assert await CaddyAdmin(socket_path=path).config() == {}
        assert seen() == 3


async def test_dropped_every_time_is_unavailable() -> None:
    async with _admin_dropping(100) as (path, seen):
        with pytest.raises(EdgeUnavailable, match="without sending a response"):
            await CaddyAdmin(socket_path=path).config()
        assert seen() == 3


async def test_nobody_listening_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(EdgeUnavailable):
        await CaddyAdmin(socket_path=tmp_path / "none.sock").config()
