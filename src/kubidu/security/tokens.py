"""API tokens and web-session secrets: generated with ``secrets``, stored only as SHA-256.

Tokens carry 256 bits of entropy, so a fast hash is enough (a slow KDF only matters for
low-entropy secrets such as passwords, see ``passwords.py``). Called by ``services/auth``.
"""

import hashlib
import hmac
import secrets

TOKEN_PREFIX = "kbd_"  # noqa: S105 - a public prefix, not a secret


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def same_secret(a: str, b: str) -> bool:
    """Constant-time comparison for secrets such as CSRF tokens."""
    return hmac.compare_digest(a.encode(), b.encode())
