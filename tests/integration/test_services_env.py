"""Environment variables: the use-cases and their encryption at rest, on SQLite and PostgreSQL.

Aspects checked:
* set, update, unset and list, masked by default and revealed on request, in environment and
  service scope; each scope lists only its own variables;
* the ``secret`` flag: set together with values, kept when a value changes without it;
* ``resolve_for_service``: shared values reach every service, a service's own value wins over
  the shared one, another service's values never leak in; a deployment's sealed env snapshot
  holds exactly that resolution;
* invalid keys (``1ABC``, ``A-B``, ``PORT``, ``KUBIDU_X``, empty), NUL bytes, oversized values
  and too many variables raise ``InvalidInput`` and write nothing (env_vars rows and the audit
  log are unchanged), even when valid variables come first in the same call;
* setting and unsetting one key in the same call gives the same result whether or not the
  key existed before;
* no plaintext value appears anywhere in the database — neither in ``env_vars.ciphertext`` nor
  in the deployment snapshot nor in audit details, nor in any other column;
* a ciphertext copied to another row (another key, environment or deployment) fails to open:
  the row's identity is bound as AES-GCM associated data;
* key rotation: ``Keyring.from_keys(new, old)`` opens values sealed with the old key, seals
  new and updated values with the new key and records the new key id; a keyring without the
  old key refuses old values with ``KeyError_``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
from pathlib import Path

import pytest
import sqlalchemy as sa

from kubidu.control import state
from kubidu.core.errors import InvalidInput
from kubidu.security.crypto import KeyError_, Keyring, key_id_of
from kubidu.services import deployments, envvars
from kubidu.services.context import Actor, Platform
from kubidu.store.db import Database
from tests.integration.services_fixtures import (
    ENV_SECRET,
    PROJECT,
    SERVICE_SECRET,
    TenantA,
    count_rows,
    make_upload,
    table_rows,
)

pytest_plugins = ["tests.integration.services_fixtures"]

PRODUCTION = (PROJECT, "production")
STAGING = (PROJECT, "staging")


def _pairs(views: list[envvars.EnvVarView]) -> list[tuple[str, str, str]]:
    return [(v.key, v.value, v.scope) for v in views]


def _resolve(p: Platform, a: TenantA, service_id: str) -> dict[str, str]:
    with p.db.transaction() as session:
        return envvars.resolve_for_service(
            session, p.keyring, environment_id=a.environment_id, service_id=service_id
        )


def _service_id(p: Platform, name: str) -> str:
    with p.db.engine.connect() as conn:
        return str(
            conn.execute(
                sa.text("SELECT id FROM services WHERE name = :n"), {"n": name}
            ).scalar_one()
        )


def _execute(db: Database, statement: str, **params: object) -> None:
    with db.engine.begin() as conn:
        conn.execute(sa.text(statement), params)


def _put_ciphertext(db: Database, row_id: str, blob: bytes) -> None:
    _execute(db, "UPDATE env_vars SET ciphertext = :c WHERE id = :i", c=blob, i=row_id)


def test_set_list_reveal_unset(platform: Platform, admin: Actor, tenant_a: TenantA) -> None:
    p, web = platform, tenant_a.web
    returned = envvars.change_vars(
        p, actor=admin, path=web, set_vars={"B_VAR": "two", "A_VAR": "one"}, unset=[]
    )
    assert _pairs(returned) == [
        ("A_VAR", envvars.MASK, "service"),
        ("B_VAR", envvars.MASK, "service"),
        ("OWN", envvars.MASK, "service"),
    ]
    assert _pairs(envvars.list_vars(p, actor=admin, path=web, reveal=True)) == [
        ("A_VAR", "one", "service"),
        ("B_VAR", "two", "service"),
        ("OWN", SERVICE_SECRET, "service"),
    ]
    assert _pairs(envvars.list_vars(p, actor=admin, path=PRODUCTION, reveal=True)) == [
        ("SHARED", ENV_SECRET, "environment")
    ]
    assert envvars.list_vars(p, actor=admin, path=STAGING) == []

    first = {v.key: v.updated_at for v in envvars.list_vars(p, actor=admin, path=web)}
    envvars.change_vars(
        p, actor=admin, path=web, set_vars={"A_VAR": "uno"}, unset=["B_VAR", "NEVER_SET"]
    )
    after = envvars.list_vars(p, actor=admin, path=web, reveal=True)
    assert _pairs(after) == [("A_VAR", "uno", "service"), ("OWN", SERVICE_SECRET, "service")]
    assert after[0].updated_at >= first["A_VAR"]
    assert count_rows(p.db, "env_vars") == 3  # A_VAR, OWN, SHARED


def test_the_secret_flag_is_set_with_values_and_kept_on_updates(
    platform: Platform, admin: Actor, tenant_a: TenantA
) -> None:
    p, web = platform, tenant_a.web

    def flags() -> dict[str, bool]:
        return {v.key: v.secret for v in envvars.list_vars(p, actor=admin, path=web)}

    envvars.change_vars(p, actor=admin, path=web, set_vars={"TOKEN": "t1"}, unset=[], secret=True)
    envvars.change_vars(p, actor=admin, path=web, set_vars={"PLAIN": "p"}, unset=[])
    assert flags() == {"OWN": False, "PLAIN": False, "TOKEN": True}
    envvars.change_vars(p, actor=admin, path=web, set_vars={"TOKEN": "t2"}, unset=[])
    assert flags()["TOKEN"] is True  # a new value without the flag keeps it
    envvars.change_vars(p, actor=admin, path=web, set_vars={"TOKEN": "t3"}, unset=[], secret=False)
    assert flags()["TOKEN"] is False


def test_service_value_wins(platform: Platform, admin: Actor, tenant_a: TenantA) -> None:
    p = platform
    envvars.change_vars(
        p, actor=admin, path=PRODUCTION, set_vars={"OWN": "shared-own", "ONLY_ENV": "e"}, unset=[]
    )
    envvars.change_vars(
        p, actor=admin, path=tenant_a.web, set_vars={"SHARED": "web-wins"}, unset=[]
    )
    envvars.change_vars(p, actor=admin, path=STAGING, set_vars={"STAGING_ONLY": "s"}, unset=[])

    web = _resolve(p, tenant_a, tenant_a.web_id)
    worker = _resolve(p, tenant_a, _service_id(p, "worker"))

    assert web == {"SHARED": "web-wins", "OWN": SERVICE_SECRET, "ONLY_ENV": "e"}
    assert worker == {"SHARED": ENV_SECRET, "OWN": "shared-own", "ONLY_ENV": "e"}

    upload = make_upload(p.uploads_dir.parent / "in")
    dep = deployments.create_from_upload(p, actor=admin, path=tenant_a.web, upload=upload)
    assert state.load(p.db, p.keyring, dep.id).env == web


BAD_CHANGES: list[tuple[str, dict[str, str], list[str]]] = [
    ("leading digit", {"1ABC": "x"}, []),
    ("hyphen", {"A-B": "x"}, []),
    ("reserved PORT", {"PORT": "8080"}, []),
    ("platform prefix", {"KUBIDU_X": "1"}, []),
    ("empty key", {"": "x"}, []),
    ("NUL in value", {"GOOD": "a\x00b"}, []),
    ("NUL overwriting a value", {"OWN": "\x00"}, []),
    ("oversized value", {"GOOD": "x" * (32 * 1024 + 1)}, []),
    ("valid first, then invalid", {"GOOD": "ok", "OWN": "changed", "A-B": "x"}, []),
    ("invalid unset", {"GOOD": "ok"}, ["A-B"]),
    ("reserved unset", {}, ["OWN", "PORT"]),
    ("too many", {f"K{i}": "v" for i in range(201)}, []),
]


@pytest.mark.parametrize("scope", ["environment", "service"])
def test_invalid_input_writes_nothing(
    platform: Platform, admin: Actor, tenant_a: TenantA, scope: str
) -> None:
    p = platform
    path = PRODUCTION if scope == "environment" else tenant_a.web
    rows, audit_count = table_rows(p.db, "env_vars", "id"), count_rows(p.db, "audit_records")
    outcomes = {}
    for name, set_vars, unset in BAD_CHANGES:
        try:
            envvars.change_vars(p, actor=admin, path=path, set_vars=set_vars, unset=unset)
        except InvalidInput:
            outcomes[name] = "InvalidInput"
        else:
            outcomes[name] = "accepted"
    assert outcomes == dict.fromkeys(outcomes, "InvalidInput")
    assert table_rows(p.db, "env_vars", "id") == rows
    assert count_rows(p.db, "audit_records") == audit_count
    assert _resolve(p, tenant_a, tenant_a.web_id) == {"SHARED": ENV_SECRET, "OWN": SERVICE_SECRET}


def test_set_and_unset_of_one_key_does_not_depend_on_history(
    platform: Platform, admin: Actor, tenant_a: TenantA
) -> None:
    """Either refuse the call or give one answer; today the result flips on prior existence."""
    p, web = platform, tenant_a.web
    results = []
    for key in ("NEW_KEY", "OWN"):  # NEW_KEY does not exist yet, OWN does
        try:
            envvars.change_vars(p, actor=admin, path=web, set_vars={key: "v"}, unset=[key])
        except InvalidInput:
            results.append("refused")
        else:
            present = {v.key for v in envvars.list_vars(p, actor=admin, path=web)}
            results.append("kept" if key in present else "removed")
    assert results[0] == results[1]


def test_plaintext_never_reaches_the_database(
    platform: Platform, admin: Actor, tenant_a: TenantA
) -> None:
    p = platform
    secret = f"plain-{secrets.token_hex(12)}"
    envvars.change_vars(p, actor=admin, path=PRODUCTION, set_vars={"DB_PASS": secret}, unset=[])
    envvars.change_vars(p, actor=admin, path=tenant_a.web, set_vars={"API_KEY": secret}, unset=[])
    envvars.list_vars(p, actor=admin, path=tenant_a.web, reveal=True)
    upload = make_upload(p.uploads_dir.parent / "in")
    dep = deployments.create_from_upload(p, actor=admin, path=tenant_a.web, upload=upload)
    assert state.load(p.db, p.keyring, dep.id).env["API_KEY"] == secret

    needles = [s.encode() for s in (secret, ENV_SECRET, SERVICE_SECRET)]
    with p.db.engine.connect() as conn:
        ciphertexts = conn.execute(sa.text("SELECT key, ciphertext FROM env_vars")).all()
        snapshots = conn.execute(sa.text("SELECT env_ciphertext FROM deployments")).scalars()
        details = conn.execute(sa.text("SELECT action, details FROM audit_records")).all()
    assert {row[0] for row in ciphertexts} == {"SHARED", "OWN", "DB_PASS", "API_KEY"}
    for _key, blob in ciphertexts:
        assert not any(n in bytes(blob) for n in needles)
    for blob in snapshots:
        assert not any(n in bytes(blob) for n in needles)
    assert {"env.change", "env.reveal", "deployment.create"} <= {row[0] for row in details}
    for _action, raw in details:
        text = raw if isinstance(raw, str) else json.dumps(raw)
        assert not any(n.decode() in text for n in needles)

    # And in no column of any table, read as text or bytes.
    for table in sa.inspect(p.db.engine).get_table_names():
        with p.db.engine.connect() as conn:
            for row in conn.execute(sa.text(f"SELECT * FROM {table}")):  # noqa: S608
                for value in row:
                    raw = bytes(value) if isinstance(value, bytes | memoryview) else str(value)
                    data = raw if isinstance(raw, bytes) else raw.encode()
                    assert not any(n in data for n in needles), (table, value)


def test_moved_ciphertexts_do_not_open(
    platform: Platform, admin: Actor, tenant_a: TenantA, tmp_path: Path
) -> None:
    p = platform
    envvars.change_vars(p, actor=admin, path=STAGING, set_vars={"SHARED": "staging"}, unset=[])
    envvars.change_vars(p, actor=admin, path=PRODUCTION, set_vars={"OTHER": "x"}, unset=[])
    with p.db.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, environment_id, key, ciphertext FROM env_vars"))
        by_place = {(r[1] == tenant_a.environment_id, r[2]): (r[0], bytes(r[3])) for r in rows}
    prod_shared, prod_other = by_place[(True, "SHARED")], by_place[(True, "OTHER")]
    staging_shared = by_place[(False, "SHARED")]

    # Same environment, another key.
    _put_ciphertext(p.db, prod_other[0], prod_shared[1])
    with pytest.raises(KeyError_):
        envvars.list_vars(p, actor=admin, path=PRODUCTION, reveal=True)
    _put_ciphertext(p.db, prod_other[0], prod_other[1])
    assert len(envvars.list_vars(p, actor=admin, path=PRODUCTION, reveal=True)) == 2

    # Same key, another environment (a staging value moved into production).
    _put_ciphertext(p.db, prod_shared[0], staging_shared[1])
    with pytest.raises(KeyError_):
        _resolve(p, tenant_a, tenant_a.web_id)
    _put_ciphertext(p.db, prod_shared[0], prod_shared[1])

    # A deployment's env snapshot moved to another deployment.
    envvars.change_vars(p, actor=admin, path=tenant_a.web, set_vars={"OWN": "new"}, unset=[])
    second = deployments.create_from_upload(
        p, actor=admin, path=tenant_a.web, upload=make_upload(tmp_path / "in2")
    )
    with p.db.engine.connect() as conn:
        first_blob = conn.execute(
            sa.text("SELECT env_ciphertext FROM deployments WHERE id = :i"),
            {"i": tenant_a.deployment_id},
        ).scalar_one()
    _execute(
        p.db,
        "UPDATE deployments SET env_ciphertext = :c WHERE id = :i",
        c=bytes(first_blob),
        i=second.id,
    )
    with pytest.raises(KeyError_):
        state.load(p.db, p.keyring, second.id)
    assert state.load(p.db, p.keyring, tenant_a.deployment_id).env["OWN"] == SERVICE_SECRET


def test_key_rotation(platform: Platform, admin: Actor, tenant_a: TenantA) -> None:
    old_key, new_key = platform.keyring.keys[platform.keyring.current_id], os.urandom(32)
    rotated = dataclasses.replace(platform, keyring=Keyring.from_keys(new_key, old_key))
    web = tenant_a.web

    def key_ids() -> dict[str, str]:
        with platform.db.engine.connect() as conn:
            return dict(conn.execute(sa.text("SELECT key, key_id FROM env_vars")).all())

    assert set(key_ids().values()) == {key_id_of(old_key)}
    assert _pairs(envvars.list_vars(rotated, actor=admin, path=web, reveal=True)) == [
        ("OWN", SERVICE_SECRET, "service")
    ]
    envvars.change_vars(rotated, actor=admin, path=web, set_vars={"FRESH": "f"}, unset=[])
    envvars.change_vars(
        rotated, actor=admin, path=PRODUCTION, set_vars={"SHARED": "resealed"}, unset=[]
    )
    assert key_ids() == {
        "OWN": key_id_of(old_key),
        "FRESH": key_id_of(new_key),
        "SHARED": key_id_of(new_key),
    }
    assert _resolve(rotated, tenant_a, tenant_a.web_id) == {
        "OWN": SERVICE_SECRET,
        "FRESH": "f",
        "SHARED": "resealed",
    }

    new_only = dataclasses.replace(platform, keyring=Keyring.from_keys(new_key))
    assert _pairs(envvars.list_vars(new_only, actor=admin, path=PRODUCTION, reveal=True)) == [
        ("SHARED", "resealed", "environment")
    ]
    with pytest.raises(KeyError_, match=key_id_of(old_key)):
        envvars.list_vars(new_only, actor=admin, path=web, reveal=True)
    # The old keyring cannot open what the new key sealed.
    with pytest.raises(KeyError_):
        envvars.list_vars(platform, actor=admin, path=PRODUCTION, reveal=True)
