"""GitHub webhook signatures: HMAC-SHA256 of the raw body with the shared secret.

The header is ``X-Hub-Signature-256: sha256=<hex>``; the comparison is constant-time
(``hmac.compare_digest``) so a forger learns nothing from response timing.
"""

from __future__ import annotations

import hashlib
import hmac

PREFIX = "sha256="


def sign(secret: str, body: bytes) -> str:
    """The header value GitHub would send for ``body``."""
    return PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str | None) -> bool:
    if not header or not header.startswith(PREFIX) or not secret:
        return False
    return hmac.compare_digest(sign(secret, body).encode(), header.encode())
