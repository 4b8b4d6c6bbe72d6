"""Server-Sent Events for the dashboard's live views (service logs, a deployment's build log).

Used by ``logview.py`` and ``deploys.py``; the browser reads these streams with
``EventSource`` (same origin, the session cookie authenticates). Events: ``line`` (one log
line, the same JSON shape as the API's log streams), ``dropped`` (how many lines a lagging
reader skipped), and for build logs ``status`` and a final ``end``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.responses import StreamingResponse

from kubidu.logs.model import StoredLine
from kubidu.services.logs import Item

MEDIA_TYPE = "text/event-stream"


def event(name: str, data: dict[str, Any]) -> bytes:
    """One SSE event; ``json.dumps`` escapes newlines, so ``data`` stays on one line."""
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


def line_json(line: StoredLine) -> dict[str, Any]:
    return {
        "id": line.id,
        "at": line.at.isoformat(),
        "stream": line.stream,
        "source": line.source,
        "line": line.line,
        "replica": line.replica,
        "deployment_id": line.deployment_id,
    }


def item_event(item: Item) -> bytes:
    if isinstance(item, int):
        return event("dropped", {"skipped": item})
    return event("line", line_json(item))


async def item_events(items: AsyncIterator[Item]) -> AsyncIterator[bytes]:
    async for item in items:
        yield item_event(item)


def response(events: AsyncIterator[bytes]) -> StreamingResponse:
    """A streaming response that no proxy buffers or caches."""
    return StreamingResponse(
        events,
        media_type=MEDIA_TYPE,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
