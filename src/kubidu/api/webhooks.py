"""``POST /api/v1/webhooks/github``: GitHub's deliveries, authenticated by their signature.

No API token here: the ``X-Hub-Signature-256`` HMAC of the raw body is the credential, checked
by ``services/webhooks.py`` against the connections of the payload's repository. Unsigned,
forged and replayed deliveries get 401 and change nothing. The body is capped before reading.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from kubidu.api.deps import PlatformDep
from kubidu.core.errors import PayloadTooLarge
from kubidu.services import webhooks

router = APIRouter()
MAX_BODY = 5 << 20  # GitHub caps payloads at 25 MB; the events we use are far smaller


@router.post("/webhooks/github", status_code=202)
async def github_webhook(request: Request, p: PlatformDep) -> dict[str, Any]:
    body = await _capped_body(request)
    delivery = webhooks.Delivery(
        event=request.headers.get("x-github-event", ""),
        delivery_id=request.headers.get("x-github-delivery", ""),
        signature=request.headers.get("x-hub-signature-256"),
        body=body,
    )
    return await run_in_threadpool(webhooks.receive, p, delivery)


async def _capped_body(request: Request) -> bytes:
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise PayloadTooLarge(f"webhook bodies are limited to {MAX_BODY >> 20} MiB")
        chunks.append(chunk)
    return b"".join(chunks)
