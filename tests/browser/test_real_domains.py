"""The Domains section of the real ``kubidu server`` with real DNS (pebble-challtestsrv), a real
ACME CA (Pebble) and the real Caddy edge, driven in Chromium.

What is checked (one flow, as a user would go through it):
* "Add domain" on the service page → the domain shows ``pending`` with the records to create;
* the records are created in DNS exactly as the page lists them; "Check now" → without a
  reload, the badge moves on and turns ``active`` (green) with the certificate's expiry;
* ``curl --cacert <Pebble's root> https://HOST/`` then returns the app through the edge;
* "Remove" removes the domain from the page and the edge stops routing the name.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_real_rollback import ADMIN, log_in
from tests.helpers.acme_env import AcmeStack, acme_stack
from tests.helpers.wait import wait_for

pytestmark = [pytest.mark.timeout(240)]

HOST = "shop.example.com"
SERVICE_PATH = "/projects/dom/production/web"


@pytest.fixture(scope="module")
def stack() -> Iterator[AcmeStack]:
    with acme_stack() as running:
        yield running


@pytest.fixture(scope="module")
def web(stack: AcmeStack) -> tuple[Path, str]:
    return stack.deploy_app("web")


def test_add_check_active_and_remove(page: Page, stack: AcmeStack, web: tuple[Path, str]) -> None:
    server = stack.server
    password = (server.data_dir / "admin-password").read_text().strip()
    log_in(page, server.url, ADMIN, password)
    page.goto(server.url + SERVICE_PATH)
    page.get_by_label("Add a domain").fill(HOST)
    page.get_by_role("button", name="Add domain").click()

    card = page.locator(f"article.domain[data-hostname='{HOST}']")
    expect(card.locator(".badge")).to_have_text("pending")
    rows = card.locator(".records-table tbody tr")
    expect(rows).to_have_count(2)
    for row in rows.all():
        kind, name, value = (row.locator("td").nth(i).inner_text() for i in range(3))
        if kind == "CNAME":
            assert (name, value) == (HOST, web[1])
            stack.dns.set_cname(name, value)
        else:
            assert (kind, name) == ("TXT", f"_kubidu-challenge.{HOST}")
            stack.dns.set_txt(name, value)

    card.get_by_role("button", name="Check now").click()
    badge = card.locator(".badge")
    expect(badge).to_have_text("active", timeout=60_000)
    expect(badge).to_have_class("badge badge-ok")
    expect(card.locator(".expiry")).to_have_text(
        stack.domain(web[0], HOST)["expires_at"][:19].replace("T", " ") + " UTC"
    )
    expect(card).to_contain_text("Serving over HTTPS")
    page.screenshot(path="/tmp/kubidu-domains-active.png", full_page=True)
    served = stack.curl_https(HOST)
    assert served.returncode == 0, served.stderr
    assert served.stdout.startswith("v1 ")

    page.once("dialog", lambda dialog: dialog.accept())
    card.get_by_role("button", name="Remove").click()
    expect(card).to_have_count(0)
    assert stack.server.cli_json("domains", "list", cwd=web[0]) == []
    wait_for(lambda: server.fetch(HOST).status_code == 404, 10, what=f"{HOST} to be unrouted")
