"""Encryption at rest for secrets (env vars, env snapshots): AES-256-GCM with key ids.

Every ciphertext is stored with the id of the key that sealed it, so the master key can rotate:
new values are sealed with the current key while old ones still open with the retired keys kept
in the keyring. Called by ``services/`` (env vars, deployments) and built by ``bootstrap.py``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_NONCE_BYTES = 12


class KeyError_(Exception):
    """The master key is malformed or a ciphertext's key is not in the keyring."""


def key_id_of(key: bytes) -> str:
    """A short, stable, non-secret identifier of a key."""
    return hashlib.sha256(b"kubidu-key-id:" + key).hexdigest()[:16]


@dataclass(frozen=True)
class Keyring:
    """The current key (used to seal) and every key that may still open old ciphertexts."""

    current_id: str
    keys: dict[str, bytes]

    @classmethod
    def from_keys(cls, current: bytes, *retired: bytes) -> Keyring:
        for key in (current, *retired):
            if len(key) != 32:
                raise KeyError_("master keys must be 32 bytes (AES-256)")
        keys = {key_id_of(k): k for k in (current, *retired)}
        return cls(current_id=key_id_of(current), keys=keys)

    def seal(self, plaintext: bytes, *, context: str) -> tuple[str, bytes]:
        """Encrypt; ``context`` is bound as associated data so ciphertexts can't be swapped."""
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = AESGCM(self.keys[self.current_id]).encrypt(nonce, plaintext, context.encode())
        return self.current_id, nonce + sealed

    def open(self, key_id: str, blob: bytes, *, context: str) -> bytes:
        key = self.keys.get(key_id)
        if key is None:
            raise KeyError_(f"ciphertext sealed with unknown key {key_id}")
        try:
            return AESGCM(key).decrypt(blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], context.encode())
        except InvalidTag as exc:
            raise KeyError_(
                f"a secret sealed with key {key_id} cannot be decrypted "
                "(tampered with, or moved from another record)"
            ) from exc


def decode_key(text: str) -> bytes:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise KeyError_("master key is not valid base64") from exc


def load_or_create_key_file(path: Path) -> bytes:
    """Read the master key from ``path``, generating it (mode 0600) on first start."""
    if path.exists():
        return decode_key(path.read_text())
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(base64.b64encode(key).decode() + "\n")
    return key
