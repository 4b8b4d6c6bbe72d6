"""The service page's Domains, Git/GitHub and scale sections in Chromium, on the seeded
dashboard (fake runtime) whose custom domains are checked against a real DNS server
(pebble-challtestsrv).

What is checked:
* adding a domain from the page shows it ``pending`` (amber) with the DNS records to create,
  the same the use-case returns; "Check now" shows what is still missing; once those records
  exist in DNS, "Check now" turns it ``verified``;
* an invalid hostname, a name under the platform's base domain and a name claimed by another
  service are refused with their reason (422 / 409) beside the form, the typed name kept, and
  nothing stored; "Remove" (after a confirmation) removes the domain;
* connecting a GitHub repository from the page shows the connection (repository, branch, wait
  for CI, the webhook URL to paste, the git remote) and never the token or webhook secret, not
  even in the form; an invalid repository is refused with its reason, the secrets not echoed;
* a signed push webhook to a wait-for-CI service lists the push as waiting with a
  "Deploy anyway" button; clicking it (confirmed) deploys it anyway and is audited;
* another team's user gets 404 for every section route (page, fragments, each POST with her
  own CSRF token) and changes nothing; a POST without a valid CSRF token is a 403;
* the service page shows replicas and the CPU/memory limits; the deployment page of an image
  deployment shows the image reference.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from kubidu.dns import DnsChecker
from kubidu.services import domains, github, projects, webhooks
from kubidu.services.context import DomainSetup
from kubidu.services.webhooks import Delivery
from kubidu.store.models import AuditRecord, Deployment, Service
from tests.browser.dashboard_app import EVE_EMAIL, EVE_PASSWORD, Dashboard, serve_dashboard
from tests.browser.test_dashboard import log_in, log_in_admin
from tests.helpers.github_standin import push_event, signed_headers
from tests.helpers.pebble import ChallTestSrv, require_pebble

SERVICE = ("shop", "production", "web")
SERVICE_PATH = "/projects/shop/production/web"
TOKEN = "ghp_token_that_must_never_be_shown"
SECRET = "webhook-secret-never-shown"
SCREENSHOTS = Path("/tmp")


@pytest.fixture(scope="module")
def dns(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChallTestSrv]:
    require_pebble()
    server = ChallTestSrv(log_path=tmp_path_factory.mktemp("dns") / "dns.log")
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory, dns: ChallTestSrv) -> Iterator[Dashboard]:
    setup = DomainSetup(dns=DnsChecker(resolver=dns.resolver, timeout_s=2))
    with serve_dashboard(tmp_path_factory.mktemp("sections"), domains=setup) as running:
        yield running


def stored_domains(dashboard: Dashboard, path: tuple[str, str, str] = SERVICE) -> set[str]:
    listed = domains.list_domains(dashboard.platform, actor=dashboard.admin, path=path)
    return {d.hostname for d in listed}


def domain_card(page: Page, hostname: str):  # type: ignore[no-untyped-def]
    return page.locator(f"article.domain[data-hostname='{hostname}']")


def add_domain(page: Page, hostname: str) -> int:
    """Submit the "Add domain" form; the status of the POST's answer."""
    page.get_by_label("Add a domain").fill(hostname)
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Add domain").click()
    page.wait_for_load_state()
    return answer.value.status


def test_add_check_and_verify_a_domain(page: Page, dashboard: Dashboard, dns: ChallTestSrv) -> None:
    log_in_admin(page, dashboard)
    page.goto(dashboard.url + SERVICE_PATH)
    expect(page.locator("#domains")).to_contain_text("No custom domains")
    assert add_domain(page, "Shop.Example.com") == 303
    expect(page).to_have_url(dashboard.url + SERVICE_PATH + "#domains")

    card = domain_card(page, "shop.example.com")
    badge = card.locator(".badge")
    expect(badge).to_have_text("pending")
    expect(badge).to_have_class("badge badge-busy")
    (stored,) = domains.list_domains(dashboard.platform, actor=dashboard.admin, path=SERVICE)
    rows = card.locator(".records-table tbody tr")
    expect(rows).to_have_count(len(stored.records))
    for row, record in zip(rows.all(), stored.records, strict=True):
        expect(row.locator("td")).to_have_text(
            [record.type, record.name, record.value, "Copy value"]
        )
    assert [r.type for r in stored.records] == ["CNAME", "TXT"]
    assert stored.records[0].value == "web-shop.apps.kubidu.test"

    card.get_by_role("button", name="Check now").click()
    expect(card.locator(".domain-reason")).to_contain_text("TXT _kubidu-challenge.shop.example.com")
    expect(card.locator(".domain-reason")).to_contain_text("CNAME shop.example.com must point to")
    page.screenshot(path=str(SCREENSHOTS / "kubidu-domains-pending.png"), full_page=True)

    for row in rows.all():  # create exactly what the page asks for
        kind, name, value = (row.locator("td").nth(i).inner_text() for i in range(3))
        if kind == "CNAME":
            dns.set_cname(name, value)
        else:
            dns.set_txt(name, value)
    card.get_by_role("button", name="Check now").click()
    expect(card.locator(".badge")).to_have_text("verified")
    expect(card.locator(".domain-reason")).to_have_count(0)
    expect(card).to_contain_text("DNS verified")
    expect(card.locator("details.records")).not_to_have_attribute("open", "")


def test_bad_and_claimed_hostnames_show_the_reason(page: Page, dashboard: Dashboard) -> None:
    p, admin = dashboard.platform, dashboard.admin
    projects.create_service(p, actor=admin, path=("shop", "production"), name="api")
    domains.add_domain(
        p, actor=admin, path=("shop", "production", "api"), hostname="taken.example.org"
    )
    before = stored_domains(dashboard)
    log_in_admin(page, dashboard)
    page.goto(dashboard.url + SERVICE_PATH)

    for typed, status, reason in (
        ("1.2.3.4", 422, "IP address"),
        ("shop.apps.kubidu.test", 422, "apps.kubidu.test"),
        ("bad host!.com", 422, "not a valid hostname"),
        ("taken.example.org", 409, "already claimed by another service"),
    ):
        assert add_domain(page, typed) == status, typed
        expect(page.locator("#domain-error")).to_contain_text(reason, ignore_case=True)
        expect(page.get_by_label("Add a domain")).to_have_value(typed)
    page.screenshot(path=str(SCREENSHOTS / "kubidu-domains-refused.png"), full_page=True)
    assert stored_domains(dashboard) == before


def test_remove_a_domain(page: Page, dashboard: Dashboard) -> None:
    log_in_admin(page, dashboard)
    page.goto(dashboard.url + SERVICE_PATH)
    assert add_domain(page, "gone.example.net") == 303
    card = domain_card(page, "gone.example.net")
    expect(card.locator(".badge")).to_have_text("pending")

    page.once("dialog", lambda dialog: dialog.dismiss())
    card.get_by_role("button", name="Remove").click()
    expect(card).to_have_count(1)  # cancelled: still there
    assert "gone.example.net" in stored_domains(dashboard)

    page.once("dialog", lambda dialog: dialog.accept())
    card.get_by_role("button", name="Remove").click()
    expect(card).to_have_count(0)
    assert "gone.example.net" not in stored_domains(dashboard)


def test_connect_github_never_shows_the_secrets(page: Page, dashboard: Dashboard) -> None:
    log_in_admin(page, dashboard)
    page.goto(dashboard.url + SERVICE_PATH)
    section = page.locator("#github")
    expect(section.locator("#git-remote")).to_have_text(dashboard.url + "/git/shop/web.git")
    form = section.locator("#github-connect")

    form.get_by_label("Repository").fill("octo/sh op;rm -rf")
    form.get_by_label("Token").fill(TOKEN)
    form.get_by_label("Webhook secret").fill(SECRET)
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        form.get_by_role("button", name="Connect repository").click()
    assert answer.value.status == 422
    expect(page.locator("#github-error")).to_contain_text("invalid repository")
    expect(form.get_by_label("Repository")).to_have_value("octo/sh op;rm -rf")
    expect(form.get_by_label("Token")).to_have_value("")
    assert TOKEN not in page.content() and SECRET not in page.content()

    form.get_by_label("Repository").fill("octo/shop")
    form.get_by_label("Token").fill(TOKEN)
    form.get_by_label("Webhook secret").fill(SECRET)
    form.get_by_label("Wait for CI").check()
    form.get_by_role("button", name="Connect repository").click()
    expect(page).to_have_url(dashboard.url + SERVICE_PATH + "#github")
    connection = page.locator("#github-connection")
    expect(connection.locator("#github-repo")).to_have_text("octo/shop")
    expect(connection).to_contain_text("Wait for CI" + "yes")
    expect(connection.locator("#webhook-url")).to_have_text(
        dashboard.url + "/api/v1/webhooks/github"
    )
    expect(connection).to_contain_text("https://github.com/octo/shop.git")
    expect(page.locator("#github-connect").get_by_label("Token")).to_have_value("")
    assert TOKEN not in page.content() and SECRET not in page.content()
    page.screenshot(path=str(SCREENSHOTS / "kubidu-github-connected.png"), full_page=True)


def _deliver_push(dashboard: Dashboard, sha: str) -> None:
    body = json.dumps(push_event("octo/shop", before="0" * 40, after=sha)).encode()
    headers = signed_headers("push", body, SECRET, str(uuid.uuid4()))
    delivery = Delivery("push", headers["X-GitHub-Delivery"], headers["X-Hub-Signature-256"], body)
    webhooks.receive(dashboard.platform, delivery)


def test_waiting_push_can_be_deployed_anyway(page: Page, dashboard: Dashboard) -> None:
    request = github.ConnectRequest(
        repo="octo/shop", token=TOKEN, webhook_secret=SECRET, wait_for_ci=True
    )
    github.connect(dashboard.platform, actor=dashboard.admin, path=SERVICE, request=request)
    sha = uuid.uuid4().hex + "abcdef01"
    _deliver_push(dashboard, sha)

    log_in_admin(page, dashboard)
    page.goto(dashboard.url + SERVICE_PATH)
    row = page.locator(f"#pending-deployments tr[data-commit='{sha}']")
    expect(row.locator(".badge")).to_have_text("waiting")
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Deploy anyway").click()
    expect(row.locator(".badge")).to_have_text("deploying")
    expect(row).to_contain_text(f"deployed anyway by {dashboard.admin_email}")
    expect(row.get_by_role("button", name="Deploy anyway")).to_have_count(0)
    with dashboard.db.transaction() as session:
        actions = session.scalars(
            select(AuditRecord.action).where(AuditRecord.action == "github.override")
        ).all()
    assert actions == ["github.override"]


def test_another_team_gets_404_and_posts_need_csrf(page: Page, dashboard: Dashboard) -> None:
    p, admin = dashboard.platform, dashboard.admin
    domains.add_domain(p, actor=admin, path=SERVICE, hostname="mine.example.com")
    request = github.ConnectRequest(repo="octo/shop", token=TOKEN, webhook_secret=SECRET)
    github.connect(p, actor=admin, path=SERVICE, request=request)
    before = stored_domains(dashboard)
    log_in(page, dashboard, EVE_EMAIL, EVE_PASSWORD)
    expect(page.locator(".pill")).to_have_text("team eve-team")
    eve_csrf = page.locator("input[name=csrf_token]").first.get_attribute("value") or ""
    url = dashboard.url + SERVICE_PATH
    for path in ("", "/domains", "/github/pending"):
        assert page.request.get(url + path).status == 404, path
    posts = {
        "/domains": {"hostname": "eve.example.com"},
        "/domains/mine.example.com/verify": {},
        "/domains/mine.example.com/remove": {},
        "/github": {"repo": "eve/steal", "token": "t", "webhook_secret": "s"},
        "/github/pending/pend_x/deploy": {},
    }
    for path, form in posts.items():
        answer = page.request.post(url + path, form={**form, "csrf_token": eve_csrf})
        assert answer.status == 404, path
        assert "mine.example.com" not in answer.text()

    log_in_admin(page, dashboard)
    for path, form in posts.items():
        for token in ({}, {"csrf_token": "forged"}):
            assert page.request.post(url + path, form={**form, **token}).status == 403, path
    assert stored_domains(dashboard) == before
    connection = github.get_connection(p, actor=admin, path=SERVICE)
    assert connection.repo == "octo/shop"


def test_scale_limits_and_image_reference(page: Page, dashboard: Dashboard) -> None:
    p, admin = dashboard.platform, dashboard.admin
    path = ("shop", "production", "worker")
    projects.create_service(p, actor=admin, path=path[:2], name="worker")
    projects.update_service(
        p, actor=admin, path=path, replicas=3, cpu_limit=0.5, memory_limit_mb=256
    )
    with dashboard.db.transaction() as session:
        service_id = session.scalars(select(Service.id).where(Service.name == "worker")).one()
        session.add(
            Deployment(
                id="dep_imagedeploy1",
                service_id=service_id,
                status="failed",
                app_kind="image",
                artifact="registry.example.com/shop/worker:1.4.2",
                failure_reason="image not found",
                replicas=1,
            )
        )
    log_in_admin(page, dashboard)
    page.goto(dashboard.url + "/projects/shop/production/worker")
    expect(page.locator("#scale-replicas")).to_have_text("3")
    expect(page.locator("#scale-cpu")).to_have_text("0.5 CPU")
    expect(page.locator("#scale-memory")).to_have_text("256 MB")
    page.goto(dashboard.url + "/deployments/dep_imagedeploy1")
    expect(page.locator("#deployment-image")).to_have_text("registry.example.com/shop/worker:1.4.2")

    page.goto(dashboard.url + SERVICE_PATH)
    expect(page.locator("#scale-cpu")).to_have_text("none")
    expect(page.locator("#scale-memory")).to_have_text("none")
