"""Custom domains end to end: real DNS (pebble-challtestsrv), real ACME (Pebble), real Caddy.

Aspects checked:
* ``kubidu domains add`` → ``pending`` with the records to create and what is missing;
  the records created in DNS → ``verified`` → ``issuing`` → ``active`` with the expiry;
  ``curl --cacert <Pebble's root> https://HOST/`` returns the app, and the certificate's
  issuer is Pebble's; HTTP for the active domain redirects to HTTPS;
* ``domains list --json`` has the ARCHITECTURE.md §7 shape;
* a TLS handshake for a name nobody verified gets no certificate and causes no ACME order
  (Pebble's log shows no new order);
* a name claimed by one service cannot be claimed by another (409), invalid names get 422,
  nothing stored; ``domains remove`` stops routing the name.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers.acme_env import AcmeStack, acme_stack, issuer_of
from tests.helpers.wait import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


@pytest.fixture(scope="module")
def stack() -> Iterator[AcmeStack]:
    with acme_stack() as running:
        yield running


@pytest.fixture(scope="module")
def web(stack: AcmeStack) -> tuple[Path, str]:
    return stack.deploy_app("web")


def test_add_verify_issue_and_serve_over_https(stack: AcmeStack, web: tuple[Path, str]) -> None:
    app, generated = web
    added = stack.server.cli_json("domains", "add", "App.Example.com", cwd=app)
    assert added["hostname"] == "app.example.com"
    assert added["status"] == "pending"
    records = {(r["type"], r["name"]): r["value"] for r in added["records"]}
    assert records[("CNAME", "app.example.com")] == generated
    token = records[("TXT", "_kubidu-challenge.app.example.com")]
    assert token.startswith("kubidu-")

    checked = stack.server.cli_json("domains", "verify", "app.example.com", cwd=app)
    assert checked["status"] == "pending"
    assert "_kubidu-challenge.app.example.com" in checked["reason"]

    stack.create_records(added)
    active = stack.wait_status(app, "app.example.com", "active", timeout=60)
    assert active["expires_at"]
    assert set(active) >= {"hostname", "status", "records", "expires_at"}

    result = stack.curl_https("app.example.com", "-v")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("v1 ")
    assert "Pebble" in issuer_of(result.stderr)

    redirect = httpx.get(
        f"http://127.0.0.1:{stack.server.http_port}/x?y=1",
        headers={"Host": "app.example.com"},
        timeout=5,
    )
    assert redirect.status_code == 308
    location = redirect.headers["location"]
    assert location == f"https://app.example.com:{stack.server.https_port}/x?y=1"


def test_unknown_name_gets_no_certificate_and_no_order(stack: AcmeStack) -> None:
    orders_before = stack.pebble.log().count("POST /order-plz")
    result = stack.curl_https("nobody-verified-this.example.org")
    assert result.returncode != 0
    assert stack.pebble.log().count("POST /order-plz") == orders_before


def test_a_name_belongs_to_one_service(stack: AcmeStack, web: tuple[Path, str]) -> None:
    app, _ = web
    other, _ = stack.deploy_app("api")
    stack.server.cli_json("domains", "add", "shared.example.com", cwd=app)
    taken = stack.server.cli("domains", "add", "shared.example.com", cwd=other, check=False)
    assert taken.returncode != 0
    assert "already claimed" in taken.stderr
    for bad in ("1.2.3.4", "web.localhost", "xn--pple-43d.com", "-bad.example.com"):
        refused = stack.server.cli("domains", "add", bad, cwd=other, check=False)
        assert refused.returncode != 0, bad
    assert stack.server.cli_json("domains", "list", cwd=other) == []


def test_remove_stops_routing(stack: AcmeStack, web: tuple[Path, str]) -> None:
    app, _ = web
    added = stack.server.cli_json("domains", "add", "gone.example.com", cwd=app)
    stack.create_records(added)
    stack.wait_status(app, "gone.example.com", "active", timeout=60)
    stack.server.cli("domains", "remove", "gone.example.com", cwd=app)
    assert all(d["hostname"] != "gone.example.com" for d in _list(stack, app))

    def unrouted() -> bool:
        return stack.server.fetch("gone.example.com").status_code == 404

    wait_for(unrouted, 10, what="gone.example.com to be unrouted")


def _list(stack: AcmeStack, app: Path) -> list[dict[str, object]]:
    result: list[dict[str, object]] = stack.server.cli_json("domains", "list", cwd=app)
    return result
