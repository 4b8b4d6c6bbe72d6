"""The audit chain's pure functions (``security/audit.py``).

Aspects checked:
* ``record_hash`` is a SHA-256 hex digest, deterministic, independent of the fields' order,
  and changes with the previous hash and with any field's value, including nested details;
  non-JSON values (datetimes) are hashed through ``str``;
* ``verify_chain`` returns None for an empty and for an intact chain, and the seq of the
  first bad record when a record's fields were edited, its hash was replaced, its prev_hash
  does not link (first record not on GENESIS, a deletion, a reordering), or when an edited
  record's own hash was recomputed (the next record breaks); it consumes a generator.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from kubidu.security.audit import GENESIS, record_hash, verify_chain

Record = tuple[int, str, str, dict[str, Any]]


def _fields(n: int) -> dict[str, Any]:
    return {
        "at": f"2026-01-01T00:00:{n:02d}+00:00",
        "actor": "admin@kubidu.local",
        "team_id": "team_1",
        "action": f"action.{n}",
        "object_type": "project",
        "object_id": f"prj_{n}",
        "remote_addr": None,
        "details": {"name": f"p{n}", "set": ["A", "B"]},
    }


def _chain(n: int) -> list[Record]:
    records: list[Record] = []
    prev = GENESIS
    for seq in range(1, n + 1):
        fields = _fields(seq)
        digest = record_hash(prev, fields)
        records.append((seq, prev, digest, fields))
        prev = digest
    return records


def test_record_hash_shape_and_determinism() -> None:
    digest = record_hash(GENESIS, _fields(1))
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert record_hash(GENESIS, _fields(1)) == digest
    reordered = dict(reversed(list(_fields(1).items())))
    assert record_hash(GENESIS, reordered) == digest
    assert GENESIS == "0" * 64


def test_record_hash_covers_everything() -> None:
    base = record_hash(GENESIS, _fields(1))
    assert record_hash("1" * 64, _fields(1)) != base
    for name, value in [("action", "other"), ("remote_addr", "192.0.2.1"), ("team_id", None)]:
        assert record_hash(GENESIS, {**_fields(1), name: value}) != base
    nested = _fields(1)
    nested["details"] = {"name": "p1", "set": ["A", "C"]}
    assert record_hash(GENESIS, nested) != base
    assert record_hash(GENESIS, {**_fields(1), "extra": 1}) != base


def test_record_hash_accepts_non_json_values() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    assert record_hash(GENESIS, {"at": at}) == record_hash(GENESIS, {"at": str(at)})


def test_verify_intact() -> None:
    assert verify_chain([]) is None
    assert verify_chain(_chain(1)) is None
    assert verify_chain(_chain(6)) is None


def test_verify_edited_fields() -> None:
    chain = _chain(5)
    seq, prev, digest, fields = chain[2]
    chain[2] = (seq, prev, digest, {**fields, "action": "nothing.happened"})
    assert verify_chain(chain) == 3


def test_verify_replaced_hash() -> None:
    chain = _chain(5)
    seq, prev, _digest, fields = chain[3]
    chain[3] = (seq, prev, "f" * 64, fields)
    assert verify_chain(chain) == 4


def test_verify_links() -> None:
    first = _chain(3)
    seq, _prev, _digest, fields = first[0]
    forged_start = ("1" * 64, record_hash("1" * 64, fields))
    assert verify_chain([(seq, *forged_start, fields), *first[1:]]) == 1

    chain = _chain(5)
    assert verify_chain(chain[:2] + chain[3:]) == 4  # seq 3 deleted
    assert verify_chain([chain[0], chain[2], chain[1], *chain[3:]]) == 3  # reordered
    assert verify_chain(chain[1:]) == 2  # head deleted


def test_verify_recomputed_forgery_breaks_the_next_link() -> None:
    chain = _chain(5)
    seq, prev, _digest, fields = chain[1]
    forged = {**fields, "actor": "someone@else"}
    chain[1] = (seq, prev, record_hash(prev, forged), forged)
    assert verify_chain(chain) == 3


def test_verify_consumes_a_generator() -> None:
    def records() -> Iterator[Record]:
        yield from _chain(4)

    assert verify_chain(records()) is None
