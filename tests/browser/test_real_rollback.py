"""Rollback and live logs in the dashboard of the real ``kubidu server`` (API, workers, process
runtime, Caddy edge), with an app deployed twice by the CLI (v1, then v2).

What is checked:
* the log view shows the app's lines; typing a filter leaves only matching lines; a request
  made through the edge after the page opened shows its "request /path" line live, without
  a reload, and a request that does not match the filter does not show;
* the service page lists both deployments with status, trigger, message and who; cancelling
  the Rollback dialog does nothing;
* a user of another team gets a 404 for the service, its log stream, the confirmation page and
  the rollback POST (with her own valid CSRF token), and nothing is deployed;
* clicking Rollback on v1 and confirming lands on the new deployment's page, which reports it
  live (status, log line, "finished") without a reload; the edge then serves v1 again, and
  the service page shows the rollback (trigger, "rollback of", who) as the active deployment.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.helpers.apps import write_stdlib_app
from tests.helpers.server import KubiduServer
from tests.helpers.tmp import make_traversable
from tests.helpers.wait import wait_for

SERVICE_PATH = "/projects/blog/production/web"
ADMIN = "admin@kubidu.local"
MALLORY = ("mallory@example.com", "mallory-has-a-long-password")


@dataclass(frozen=True)
class Deployed:
    server: KubiduServer
    hostname: str
    v1: str  # deployment ids
    v2: str

    def admin_password(self) -> str:
        return (self.server.data_dir / "admin-password").read_text().strip()


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    """A real server with blog/production/web deployed twice (v1, then v2, which is live)."""
    root = Path(tempfile.mkdtemp(prefix="kubidu-e2e-", dir="/tmp"))
    root.chmod(0o711)
    home = make_traversable(tmp_path_factory.mktemp("home"))
    server = KubiduServer(data_dir=root / "data", home=home)
    try:
        server.start()
        app = write_stdlib_app(home / "app", version="v1", startup_delay=2)
        server.cli("init", "--project", "blog", "--service", "web", cwd=app)
        v1 = server.cli_json("deploy", "-m", "version one", cwd=app)["id"]
        write_stdlib_app(app, version="v2")
        v2 = server.cli_json("deploy", "-m", "version two", cwd=app)["id"]
        hostname = httpx.URL(server.cli_json("status", cwd=app)["url"]).host
        assert server.fetch(hostname).text.startswith("v2 ")
        yield Deployed(server, hostname, v1, v2)
    finally:
        server.cleanup()
        shutil.rmtree(root, ignore_errors=True)


def deployments(server: KubiduServer) -> list[dict[str, object]]:
    listed = server.api("GET", "/projects/blog/environments/production/services/web/deployments")
    assert listed.status_code == 200, listed.text
    result: list[dict[str, object]] = listed.json()
    return result


def log_in(page: Page, url: str, email: str, password: str) -> None:
    page.goto(url + "/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Projects")).to_be_visible()


def test_log_view_filters_and_shows_new_lines_live(page: Page, deployed: Deployed) -> None:
    server = deployed.server
    assert server.fetch(deployed.hostname, "/before-the-page").status_code == 200
    log_in(page, server.url, ADMIN, deployed.admin_password())
    page.goto(server.url + SERVICE_PATH + "/logs")
    rows = page.locator("#log-lines .log-row")
    expect(rows.filter(has_text="request /before-the-page")).to_have_count(1)
    expect(rows.filter(has_text="listening on")).not_to_have_count(0)

    page.get_by_label("Search").fill("request /probe")
    expect(page).to_have_url(server.url + SERVICE_PATH + "/logs?grep=request+%2Fprobe&since=1h")
    expect(page.locator("#log-empty")).to_be_visible()
    expect(page.locator("#log-state")).to_have_text("live")
    for path in ("/probe-one", "/elsewhere", "/probe-two"):
        assert server.fetch(deployed.hostname, path).status_code == 200
    expect(rows.last).to_contain_text("request /probe-two", timeout=15_000)
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("request /probe-one")
    expect(rows.first).to_have_attribute("data-stream", "stdout")
    page.screenshot(path="/tmp/kubidu-real-logs.png", full_page=True)


def test_cancelled_rollback_changes_nothing(page: Page, deployed: Deployed) -> None:
    server = deployed.server
    log_in(page, server.url, ADMIN, deployed.admin_password())
    page.goto(server.url + SERVICE_PATH)
    v1_row = page.locator(f"tr[data-deployment='{deployed.v1}']")
    v2_row = page.locator(f"tr[data-deployment='{deployed.v2}']")
    expect(v2_row.locator(".badge")).to_have_text("active")
    expect(v2_row.get_by_role("link", name="Rollback")).to_have_count(0)
    expect(v1_row.locator(".badge")).to_have_text("superseded")
    expect(v1_row).to_contain_text("version one")
    expect(v1_row).to_contain_text(ADMIN)
    expect(v1_row.locator(".trigger-deploy")).to_have_text("deploy")

    v1_row.get_by_role("link", name="Rollback").click()
    dialog = page.locator("#rollback-dialog")
    expect(dialog).to_contain_text(deployed.v1)
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    expect(page).to_have_url(server.url + SERVICE_PATH)
    assert len(deployments(server)) == 2
    assert server.fetch(deployed.hostname).text.startswith("v2 ")


def test_another_team_cannot_roll_back(page: Page, deployed: Deployed) -> None:
    server = deployed.server
    email, password = MALLORY
    user = server.api("POST", "/users", json={"email": email, "password": password})
    assert user.status_code == 201, user.text
    team = server.api("POST", "/teams", token=user.json()["token"], json={"name": "mallory-inc"})
    assert team.status_code == 201, team.text

    log_in(page, server.url, email, password)
    csrf = page.locator("input[name=csrf_token]").first.get_attribute("value") or ""
    for path in (SERVICE_PATH, SERVICE_PATH + "/rollback?target=" + deployed.v1):
        response = page.goto(server.url + path)
        assert response is not None and response.status == 404, path
    stream = page.request.get(server.url + SERVICE_PATH + "/logs/stream")
    assert stream.status == 404 and "request /" not in stream.text()
    posted = page.request.post(
        server.url + SERVICE_PATH + "/rollback", form={"target": deployed.v1, "csrf_token": csrf}
    )
    assert posted.status == 404
    assert len(deployments(server)) == 2


def test_rollback_goes_live_in_the_browser(page: Page, deployed: Deployed) -> None:
    server = deployed.server
    log_in(page, server.url, ADMIN, deployed.admin_password())
    page.goto(server.url + SERVICE_PATH)
    page.locator(f"tr[data-deployment='{deployed.v1}']").get_by_role(
        "link", name="Rollback"
    ).click()
    page.locator("#rollback-dialog").get_by_role("button", name="Roll back").click()

    page.wait_for_url(re.compile(r"/deployments/dep_\w+$"))
    new_id = page.url.rsplit("/", 1)[1]
    assert new_id not in (deployed.v1, deployed.v2)
    # v1 takes 2 s to start listening, so the page opens while the rollback is in flight
    expect(page.locator("#build-log")).to_have_attribute("data-in-flight", "true")
    expect(page.locator(".facts")).to_contain_text(f"Rollback of{deployed.v1}")
    expect(page.locator("#deployment-live")).to_be_hidden()
    badge = page.locator("#deployment-status .badge")
    expect(badge).to_have_attribute("data-status", "active", timeout=30_000)
    expect(page.locator("#deployment-live")).to_contain_text("This deployment is live")
    expect(page.locator("#build-log")).to_contain_text("deployment is live")
    expect(page.locator("#log-state")).to_have_text("finished")
    expect(page.locator("#deployment-duration")).not_to_have_text("—")
    page.screenshot(path="/tmp/kubidu-rollback-live.png", full_page=True)

    wait_for(lambda: server.fetch(deployed.hostname).text.startswith("v1 "), 15)
    page.goto(server.url + SERVICE_PATH)
    row = page.locator(f"tr[data-deployment='{new_id}']")
    expect(row.locator(".badge")).to_have_text("active")
    expect(page.locator(".facts")).to_contain_text(new_id)  # the active deployment
    expect(row.locator(".trigger-rollback")).to_have_text("rollback")
    expect(row).to_contain_text(f"rollback of {deployed.v1}")
    expect(row).to_contain_text(ADMIN)
    expect(page.locator(f"tr[data-deployment='{deployed.v2}'] .badge")).to_have_text("superseded")
    page.screenshot(path="/tmp/kubidu-service-history.png", full_page=True)
