"""The Git and GitHub section of the real ``kubidu server`` (workers, process runtime, Caddy
edge) against the local GitHub stand-in (REST API + git over HTTP), driven in Chromium.

What is checked (one flow, as a user would go through it):
* the section shows the service's git remote; connecting a repository from the page (wait for
  CI on) shows the connection and the webhook URL, and the token and webhook secret appear
  nowhere in the page; the stand-in's clone URL is used;
* a signed push webhook whose check run fails → the push is listed as ``skipped`` with the
  failing check as the reason, and nothing is deployed;
* "Deploy anyway" (confirmed) → the push moves on to ``deployed`` without a reload, links to
  its deployment, whose page reports it live; the edge serves the pushed commit, and the
  override is in the audit log (``github.override``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_real_rollback import ADMIN, log_in
from tests.helpers.apps import write_stdlib_app
from tests.helpers.github_standin import (
    GitHubStandIn,
    check_run_event,
    push_event,
    signed_headers,
)
from tests.helpers.server import KubiduServer, running_server
from tests.helpers.tmp import make_traversable

pytestmark = [pytest.mark.timeout(240)]

TOKEN = "ghp_browser_token_never_shown"
SECRET = "browser-webhook-secret-never-shown"
REPO = "octo/shop"
SERVICE_PATH = "/projects/shop/production/web"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[KubiduServer, GitHubStandIn]]:
    (tmp_path / "github").mkdir()
    with GitHubStandIn(make_traversable(tmp_path / "github"), token=TOKEN) as standin:
        home = tmp_path / "home"
        home.mkdir()
        github = {"KUBIDU_GITHUB_API_URL": standin.url}
        with running_server(home, extra_env=github) as server:
            yield server, standin


def _send(server: KubiduServer, event: str, payload: dict[str, object]) -> None:
    body = json.dumps(payload).encode()
    answer = httpx.post(
        f"{server.url}/api/v1/webhooks/github",
        content=body,
        headers=signed_headers(event, body, SECRET),
        timeout=30,
    )
    assert answer.status_code == 202, answer.text


def _connect_from_the_page(page: Page, server: KubiduServer, clone_url: str) -> None:
    form = page.locator("#github-connect")
    form.get_by_label("Repository").fill(REPO)
    form.get_by_label("Token").fill(TOKEN)
    form.get_by_label("Webhook secret").fill(SECRET)
    form.get_by_label("Clone URL").fill(clone_url)
    form.get_by_label("Wait for CI").check()
    form.get_by_role("button", name="Connect repository").click()
    connection = page.locator("#github-connection")
    expect(connection.locator("#github-repo")).to_have_text(REPO)
    expect(connection).to_contain_text(clone_url)
    expect(connection.locator("#webhook-url")).to_have_text(server.url + "/api/v1/webhooks/github")
    assert TOKEN not in page.content() and SECRET not in page.content()


def test_connect_skip_on_failing_ci_and_deploy_anyway(
    page: Page, world: tuple[KubiduServer, GitHubStandIn], tmp_path: Path
) -> None:
    server, standin = world
    standin.create_repo(REPO)
    sha = standin.commit(REPO, write_stdlib_app(tmp_path / "checkout", version="gh-v1"), "v1")
    linked = tmp_path / "linked"
    linked.mkdir()
    server.cli("init", "--project", "shop", "--service", "web", cwd=linked)

    log_in(page, server.url, ADMIN, (server.data_dir / "admin-password").read_text().strip())
    page.goto(server.url + SERVICE_PATH)
    expect(page.locator("#git-remote")).to_have_text(server.url + "/git/shop/web.git")
    _connect_from_the_page(page, server, standin.clone_url(REPO))

    standin.set_check_run(REPO, sha, "tests", "completed", "failure")
    _send(server, "push", push_event(REPO, before="0" * 40, after=sha))
    _send(
        server,
        "check_run",
        check_run_event(REPO, sha=sha, name="tests", status="completed", conclusion="failure"),
    )
    page.reload()
    row = page.locator(f"#pending-deployments tr[data-commit='{sha}']")
    expect(row.locator(".badge")).to_have_text("skipped", timeout=30_000)
    expect(row).to_contain_text("'tests' concluded failure")
    assert server.cli_json("deployments", cwd=linked) == []
    page.screenshot(path="/tmp/kubidu-github-skipped.png", full_page=True)

    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Deploy anyway").click()
    expect(row.locator(".badge")).to_have_text("deployed", timeout=60_000)
    expect(row).to_contain_text(f"deployed anyway by {ADMIN}")
    row.locator("a[href^='/deployments/']").click()
    expect(page.locator("#deployment-status .badge")).to_have_attribute(
        "data-status", "active", timeout=90_000
    )
    status = server.cli_json("status", cwd=linked)
    assert server.fetch(httpx.URL(status["url"]).host).text.startswith("gh-v1 ")
    assert _audited(server, "github.override") == 1


def _audited(server: KubiduServer, action: str) -> int:
    """How many audit records of ``action`` the server's (SQLite) database holds."""
    with closing(sqlite3.connect(server.data_dir / "db" / "kubidu.db")) as db:
        query = "SELECT count(*) FROM audit_records WHERE action = ?"
        count: int = db.execute(query, (action,)).fetchone()[0]
    return count
