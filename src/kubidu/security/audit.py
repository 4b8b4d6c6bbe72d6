"""The audit hash chain: each record's hash covers its content and the previous record's hash.

Editing or deleting any record breaks every later hash, which :func:`verify_chain` detects.
Pure functions over plain values; ``services/audit.py`` persists the records.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

GENESIS = "0" * 64


def record_hash(prev_hash: str, fields: Mapping[str, Any]) -> str:
    """SHA-256 over the previous hash and a canonical JSON of the record's fields."""
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{prev_hash}\n{canonical}".encode()).hexdigest()


def verify_chain(records: Iterable[tuple[int, str, str, Mapping[str, Any]]]) -> int | None:
    """Check ``(seq, prev_hash, hash, fields)`` in order; return the first bad seq, else None."""
    expected_prev = GENESIS
    for seq, prev_hash, stored_hash, fields in records:
        if prev_hash != expected_prev or record_hash(prev_hash, fields) != stored_hash:
            return seq
        expected_prev = stored_hash
    return None
