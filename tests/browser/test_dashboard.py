"""The dashboard in a real browser (Debian's Chromium, driven by Playwright).

What is checked:
* login with e-mail and password; a wrong password shows an error and sets no session;
* pages without a session redirect to /login; logout ends the session;
* the projects page lists the team's project; the project page lists its service with a
  status badge; the service page shows status, URL, replicas, deployments and env vars;
* env var values are masked, then revealed (and still escaped) after clicking "Reveal";
* a POST without (or with a wrong) CSRF token is refused with 403, login included;
* another team's service and deployment are a 404 page;
* the deployment page shows the build log and appends new lines (as text) from its live
  stream while the deployment is in flight, then shows its final status and failure reason;
* the real ``kubidu server`` serves the dashboard beside its API: the admin logs in with the
  password it wrote on first start, sees a service created through the API, then — once an app
  is deployed with the CLI — its live status, active deployment and build log.
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect
from sqlalchemy import update

from kubidu.store.models import Deployment
from tests.browser.dashboard_app import (
    EVE_EMAIL,
    EVE_PASSWORD,
    SECRET_VALUE,
    Dashboard,
    build_line,
)
from tests.helpers.apps import write_stdlib_app
from tests.helpers.server import KubiduServer

SERVICE_PATH = "/projects/shop/production/web"
SCREENSHOT = Path("/tmp/kubidu-dashboard.png")


def log_in(page: Page, dashboard: Dashboard, email: str, password: str) -> None:
    page.goto(dashboard.url + "/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def log_in_admin(page: Page, dashboard: Dashboard) -> None:
    log_in(page, dashboard, dashboard.admin_email, dashboard.admin_password)
    expect(page.get_by_role("heading", name="Projects")).to_be_visible()


def test_browse_to_service_and_reveal_vars(page: Page, dashboard: Dashboard) -> None:
    log_in_admin(page, dashboard)
    expect(page.locator(".pill")).to_have_text("team default")
    page.get_by_role("link", name="shop").click()

    expect(page).to_have_url(dashboard.url + "/projects/shop")
    row = page.locator("tr", has_text="web")
    expect(row.locator(".badge")).to_have_text("deploying")
    row.get_by_role("link", name="web", exact=True).click()

    expect(page).to_have_url(dashboard.url + SERVICE_PATH)
    expect(page.locator(".page-head .badge")).to_have_attribute("data-status", "deploying")
    url = page.locator("#service-url")
    expect(url).to_have_attribute("href", "http://web-shop.apps.kubidu.test:8080/")
    expect(page.locator(".facts")).to_contain_text("Replicas")
    expect(page.locator("#deployments")).to_contain_text("dep_seeded0001")
    expect(page.locator("#deployments")).to_contain_text("first <deploy>")

    env_vars = page.locator("#env-vars")
    expect(env_vars).to_contain_text("SECRET_KEY")
    expect(env_vars).to_contain_text("REGION")
    expect(env_vars.locator("td.value").first).to_have_text("********")
    assert SECRET_VALUE not in page.content()

    page.get_by_role("button", name="Reveal values").click()
    expect(env_vars.locator("tr", has_text="SECRET_KEY")).to_contain_text(SECRET_VALUE)
    expect(env_vars.locator("tr", has_text="REGION")).to_contain_text("eu-1")
    assert env_vars.locator("b").count() == 0  # the value was escaped, not rendered as HTML
    page.screenshot(path=str(SCREENSHOT), full_page=True)


def test_wrong_password_shows_error(page: Page, dashboard: Dashboard) -> None:
    log_in(page, dashboard, dashboard.admin_email, "not-the-password")
    expect(page.get_by_role("alert")).to_have_text("wrong e-mail or password")
    expect(page.get_by_label("E-mail")).to_have_value(dashboard.admin_email)
    assert not any(c["name"] == "kubidu_session" for c in page.context.cookies())


def test_pages_need_a_session_and_logout_ends_it(page: Page, dashboard: Dashboard) -> None:
    page.goto(dashboard.url + SERVICE_PATH)
    expect(page).to_have_url(dashboard.url + "/login")

    log_in_admin(page, dashboard)
    session = next(c for c in page.context.cookies() if c["name"] == "kubidu_session")
    assert session["httpOnly"] and session["sameSite"] == "Lax"
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(dashboard.url + "/login")
    page.goto(dashboard.url + "/")
    expect(page).to_have_url(dashboard.url + "/login")


def test_posts_without_csrf_token_are_refused(page: Page, dashboard: Dashboard) -> None:
    login = page.request.post(
        dashboard.url + "/login",
        form={"email": dashboard.admin_email, "password": dashboard.admin_password},
    )
    assert login.status == 403

    log_in_admin(page, dashboard)
    reveal = dashboard.url + SERVICE_PATH + "/reveal"
    assert page.request.post(reveal, form={}).status == 403
    wrong = page.request.post(reveal, form={"csrf_token": "forged"})
    assert wrong.status == 403
    assert SECRET_VALUE not in wrong.text()
    assert page.request.post(dashboard.url + "/logout", form={}).status == 403


def test_other_teams_objects_are_not_found(page: Page, dashboard: Dashboard) -> None:
    log_in(page, dashboard, EVE_EMAIL, EVE_PASSWORD)
    expect(page.locator(".pill")).to_have_text("team eve-team")
    expect(page.get_by_text("No projects yet")).to_be_visible()

    response = page.goto(dashboard.url + SERVICE_PATH)
    assert response is not None and response.status == 404
    expect(page.locator(".error-code")).to_have_text("404")
    expect(page.get_by_role("heading", level=1)).to_contain_text("not found")

    response = page.goto(f"{dashboard.url}/deployments/{dashboard.deployment_id}")
    assert response is not None and response.status == 404


def test_deployment_log_follows_until_settled(page: Page, dashboard: Dashboard) -> None:
    log_in_admin(page, dashboard)
    page.goto(f"{dashboard.url}/deployments/{dashboard.deployment_id}")
    log = page.locator("#build-log")
    expect(log).to_contain_text("Python app detected")
    expect(page.locator("#deployment-status .badge")).to_have_text("building")

    dashboard.write_lines([build_line(dashboard, "-----> <script>boom</script> done")])
    expect(log).to_contain_text("<script>boom</script> done")
    expect(log.locator("script")).to_have_count(0)

    with dashboard.db.transaction() as session:
        session.execute(
            update(Deployment)
            .where(Deployment.id == dashboard.deployment_id)
            .values(status="failed", failure_reason="build failed: exit code 1")
        )
    expect(page.locator("#deployment-status .badge")).to_have_attribute("data-status", "failed")
    expect(page.locator("#failure-reason")).to_have_text("build failed: exit code 1")
    expect(page.locator("#log-state")).to_have_text("finished")


def test_real_server_serves_the_dashboard(
    page: Page, kubidu_server: KubiduServer, tmp_path: Path
) -> None:
    created = kubidu_server.api("POST", "/projects", json={"name": "blog"})
    assert created.status_code == 201, created.text
    service = kubidu_server.api(
        "POST", "/projects/blog/environments/production/services", json={"name": "api"}
    )
    assert service.status_code == 201, service.text
    password = (kubidu_server.data_dir / "admin-password").read_text().strip()

    page.goto(kubidu_server.url + "/")
    expect(page).to_have_url(kubidu_server.url + "/login")
    page.get_by_label("E-mail").fill("admin@kubidu.local")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="blog").click()
    row = page.locator("tr", has_text="api")
    expect(row.locator(".badge")).to_have_text("no-deployment")
    row.get_by_role("link", name="api", exact=True).click()
    expect(page.locator("#service-url")).to_have_attribute("href", service.json()["url"])

    app = write_stdlib_app(tmp_path / "app", version="v1")
    kubidu_server.cli("link", "--project", "blog", "--service", "api", cwd=app)
    kubidu_server.cli("deploy", cwd=app)
    live = kubidu_server.cli_json("status", cwd=app)
    page.reload()
    expect(page.locator(".badge").first).to_have_text("live")
    deployment_row = page.locator("tr", has_text=live["deployment_id"])
    expect(deployment_row.locator(".badge")).to_have_text("active")
    deployment_row.get_by_role("link", name=live["deployment_id"]).click()
    expect(page.locator("body")).to_contain_text("deployment is live")
