"""Encryption at rest (``security/crypto.py``): AES-256-GCM with key ids.

Aspects checked:
* seal/open round trip, empty and binary plaintexts; a fresh nonce per seal, so equal
  plaintexts give different ciphertexts; the plaintext is not in the blob;
* the context is associated data: another context, a flipped bit or a truncated blob fail
  with a KeyError_ (our wrapper of AES-GCM's InvalidTag);
* key ids: stable, short hex, differ per key, and reveal nothing of the key;
* an unknown key id and keys that are not 32 bytes raise ``KeyError_``;
* rotation: a keyring (new, old) seals with the new key and opens both; (new) alone refuses
  the old key's blobs;
* ``decode_key``: base64 with surrounding whitespace decodes; malformed base64 raises
  ``KeyError_``;
* ``load_or_create_key_file`` creates a 32-byte key in a mode-0600 file, returns the same key
  on the next call, and refuses a file holding garbage.
"""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from kubidu.security.crypto import (
    KeyError_,
    Keyring,
    decode_key,
    key_id_of,
    load_or_create_key_file,
)

KEY = bytes(range(32))
OTHER = bytes(range(1, 33))


@pytest.mark.parametrize("plaintext", [b"s3cret value", b"", bytes(range(256))])
def test_round_trip(plaintext: bytes) -> None:
    ring = Keyring.from_keys(KEY)
    key_id, blob = ring.seal(plaintext, context="envvar:e:env:A")
    assert key_id == ring.current_id == key_id_of(KEY)
    assert ring.open(key_id, blob, context="envvar:e:env:A") == plaintext


def test_fresh_nonce_and_no_plaintext_in_blob() -> None:
    ring = Keyring.from_keys(KEY)
    first = ring.seal(b"same plaintext here", context="c")[1]
    second = ring.seal(b"same plaintext here", context="c")[1]
    assert first != second
    assert first[:12] != second[:12]
    assert b"same plaintext" not in first
    assert len(first) == 12 + len(b"same plaintext here") + 16  # nonce + data + tag


def test_context_and_integrity_are_checked() -> None:
    ring = Keyring.from_keys(KEY)
    key_id, blob = ring.seal(b"value", context="envvar:e1:env:A")
    with pytest.raises(KeyError_):
        ring.open(key_id, blob, context="envvar:e1:env:B")
    with pytest.raises(KeyError_):
        ring.open(key_id, blob, context="")
    flipped = bytearray(blob)
    flipped[-1] ^= 1
    with pytest.raises(KeyError_):
        ring.open(key_id, bytes(flipped), context="envvar:e1:env:A")
    with pytest.raises(KeyError_):
        ring.open(key_id, blob[:-1], context="envvar:e1:env:A")


def test_key_ids() -> None:
    assert key_id_of(KEY) == key_id_of(bytes(KEY))
    assert key_id_of(KEY) != key_id_of(OTHER)
    assert len(key_id_of(KEY)) == 16
    int(key_id_of(KEY), 16)
    assert key_id_of(KEY) not in (KEY.hex(), base64.b64encode(KEY).decode())
    assert key_id_of(KEY) not in KEY.hex()


def test_unknown_key_and_bad_key_lengths() -> None:
    _, blob = Keyring.from_keys(KEY).seal(b"v", context="c")
    with pytest.raises(KeyError_, match="unknown key"):
        Keyring.from_keys(OTHER).open(key_id_of(KEY), blob, context="c")
    for bad in (b"", b"x" * 16, b"x" * 31, b"x" * 33):
        with pytest.raises(KeyError_):
            Keyring.from_keys(bad)
        with pytest.raises(KeyError_):
            Keyring.from_keys(KEY, bad)


def test_rotation() -> None:
    old = Keyring.from_keys(KEY)
    old_id, old_blob = old.seal(b"old", context="c")
    rotated = Keyring.from_keys(OTHER, KEY)
    new_id, new_blob = rotated.seal(b"new", context="c")
    assert (old_id, new_id) == (key_id_of(KEY), key_id_of(OTHER))
    assert rotated.open(old_id, old_blob, context="c") == b"old"
    assert rotated.open(new_id, new_blob, context="c") == b"new"
    with pytest.raises(KeyError_):
        Keyring.from_keys(OTHER).open(old_id, old_blob, context="c")
    with pytest.raises(KeyError_):
        old.open(new_id, new_blob, context="c")


def test_decode_key() -> None:
    text = base64.b64encode(KEY).decode()
    assert decode_key(f"  {text}\n") == KEY
    for bad in ("not base64!", "QUJD=A", text[:-1] + "*", "é"):
        with pytest.raises(KeyError_, match="base64"):
            decode_key(bad)


def test_load_or_create_key_file(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    key = load_or_create_key_file(path)
    assert len(key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert base64.b64decode(path.read_text().strip()) == key
    assert load_or_create_key_file(path) == key
    Keyring.from_keys(key)  # usable as a master key

    other = tmp_path / "other.key"
    assert load_or_create_key_file(other) != key

    garbage = tmp_path / "garbage.key"
    garbage.write_text("this is not a key\n")
    with pytest.raises(KeyError_):
        load_or_create_key_file(garbage)


def test_key_file_mode_ignores_a_permissive_umask(tmp_path: Path) -> None:
    previous = os.umask(0)
    try:
        load_or_create_key_file(tmp_path / "k")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "k").stat().st_mode) == 0o600
