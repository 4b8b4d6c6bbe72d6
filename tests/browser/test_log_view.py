"""The dashboard's live log view and rollback confirmation, over the seeded dashboard server.

What is checked:
* the log view shows the service's lines of the chosen time range, as text (never HTML);
  typing in the filter box narrows them to matching lines (any case) and puts the filters in
  the address bar; the stream and time-range selects narrow and widen them;
* a line written after the page opened appears without a reload, but only if it matches;
  each filter change ends the previous stream on the server (one follower per page);
* a follower that falls behind is told how many lines it skipped, and the view keeps at most
  5,000 lines;
* a filter value out of range is a 422 page with the reason; another team gets a 404 for the
  page and its stream;
* the service page lists each deployment with status, trigger, message, who, created and
  duration, and a Rollback button only where a rollback is possible;
* the Rollback dialog names the deployment; Cancel and Escape close it and nothing happens;
* the confirmation page (without the dialog) refuses a rollback while a deploy is in flight
  with the reason, and writes nothing; a POST without the CSRF token is a 403; another team
  gets a 404 for the confirmation page and the POST.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from kubidu.logs.hub import QUEUE_LIMIT
from kubidu.logs.model import LogRecord, StoredLine
from kubidu.store.models import Deployment
from tests.browser.dashboard_app import EVE_EMAIL, EVE_PASSWORD, OLD_DEPLOYMENT, Dashboard
from tests.browser.test_dashboard import SERVICE_PATH, log_in, log_in_admin
from tests.helpers.wait import wait_for

LOGS_PATH = SERVICE_PATH + "/logs"
ROLLBACK_PATH = SERVICE_PATH + "/rollback"
SCREENSHOTS = Path("/tmp")


def app_line(
    dashboard: Dashboard, text: str, *, stream: str = "stdout", age: timedelta = timedelta()
) -> LogRecord:
    return LogRecord(
        service_id=dashboard.service_id(),
        at=datetime.now(UTC) - age,
        line=text,
        source="app",
        stream=stream,
        deployment_id=dashboard.deployment_id,
        replica="web-1",
    )


def deployment_count(dashboard: Dashboard) -> int:
    with dashboard.db.transaction() as session:
        return session.scalar(select(func.count()).select_from(Deployment)) or 0


def test_log_view_filters_and_follows(page: Page, dashboard: Dashboard) -> None:
    dashboard.write_lines(
        [
            app_line(dashboard, "flt GET /cart 200"),
            app_line(dashboard, "flt GET /health 200"),
            app_line(dashboard, "flt Traceback <b>boom</b>", stream="stderr"),
            app_line(dashboard, "flt GET /cart from long ago", age=timedelta(hours=2)),
        ]
    )
    log_in_admin(page, dashboard)
    page.goto(dashboard.url + SERVICE_PATH)
    page.get_by_role("link", name="Logs").click()
    expect(page).to_have_url(dashboard.url + LOGS_PATH + "?since=1h")
    rows = page.locator("#log-lines .log-row")
    expect(page.locator("#log-state")).to_have_text("live")
    expect(rows.filter(has_text="flt ")).to_have_count(3)  # the 2-hour-old line is out of range
    expect(rows.filter(has_text="Traceback")).to_have_attribute("data-stream", "stderr")
    expect(page.locator("#log-lines b")).to_have_count(0)

    page.get_by_label("Search").fill("FLT get /CART")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("flt GET /cart 200")
    expect(page).to_have_url(dashboard.url + LOGS_PATH + "?grep=FLT+get+%2FCART&since=1h")

    page.get_by_label("Time range").select_option("6h")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="from long ago")).to_have_count(1)

    page.get_by_label("Search").fill("flt")
    page.get_by_label("Stream").select_option("stderr")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("flt Traceback <b>boom</b>")

    page.get_by_label("Stream").select_option("")
    page.get_by_label("Search").fill("live-cart")
    expect(page).to_have_url(dashboard.url + LOGS_PATH + "?grep=live-cart&since=6h")
    expect(page.locator("#log-state")).to_have_text("live")
    expect(page.locator("#log-empty")).to_be_visible()
    dashboard.write_lines([app_line(dashboard, "other live line")])
    dashboard.write_lines([app_line(dashboard, "a live-cart request")])
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("a live-cart request")
    expect(page.locator("#log-empty")).to_be_hidden()
    page.screenshot(path=str(SCREENSHOTS / "kubidu-logs.png"), full_page=True)

    page.reload()  # the filters survive a reload: they are in the address bar
    expect(page.get_by_label("Search")).to_have_value("live-cart")
    expect(rows).to_have_count(1)
    # every restart closed the previous stream: the server follows for this page only
    hub = dashboard.platform.log_hub
    wait_for(lambda: hub.followers == 1, 5, what="one follower left")


def test_log_view_reports_skipped_lines(page: Page, dashboard: Dashboard) -> None:
    log_in_admin(page, dashboard)
    page.goto(dashboard.url + LOGS_PATH + "?grep=flood")
    rows = page.locator("#log-lines .log-row")
    dashboard.write_lines([app_line(dashboard, "flood begins")])
    expect(rows).to_have_count(1)  # the stream is following now

    service_id, now = dashboard.service_id(), datetime.now(UTC)
    flood = [
        StoredLine(10**9 + n, service_id, now, f"flood {n}", "app", "stdout", None, "web-1")
        for n in range(QUEUE_LIMIT + 7)
    ]
    dashboard.publish(flood)  # one batch: the follower's queue overflows by 7
    expect(page.locator(".log-dropped")).to_have_text("… 7 lines skipped (this view fell behind)")
    # 1 + the marker + every queued line; a loaded machine takes a while for 20,000 events
    expect(page.locator("#log-count")).to_have_text(f"({QUEUE_LIMIT + 2})", timeout=60_000)
    expect(rows.last).to_contain_text(f"flood {QUEUE_LIMIT - 1}")
    assert rows.count() == 5000


def test_log_view_refuses_bad_filters_and_other_teams(page: Page, dashboard: Dashboard) -> None:
    log_in_admin(page, dashboard)
    response = page.goto(dashboard.url + LOGS_PATH + "?since=1y")
    assert response is not None and response.status == 422
    expect(page.get_by_role("heading", level=1)).to_contain_text("time range must be one of")
    stream = page.request.get(dashboard.url + LOGS_PATH + "/stream?grep=" + "x" * 201)
    assert stream.status == 422

    page.context.clear_cookies()
    log_in(page, dashboard, EVE_EMAIL, EVE_PASSWORD)
    expect(page.locator(".pill")).to_have_text("team eve-team")
    response = page.goto(dashboard.url + LOGS_PATH)
    assert response is not None and response.status == 404
    stream = page.request.get(dashboard.url + LOGS_PATH + "/stream")
    assert stream.status == 404 and "flt" not in stream.text()


def test_history_and_rollback_dialog_cancel(page: Page, dashboard: Dashboard) -> None:
    log_in_admin(page, dashboard)
    page.goto(dashboard.url + SERVICE_PATH)
    old = page.locator(f"tr[data-deployment='{OLD_DEPLOYMENT}']")
    expect(old.locator(".badge")).to_have_text("superseded")
    expect(old).to_contain_text("the <old> one")
    expect(old.locator(".trigger-deploy")).to_have_text("deploy")
    expect(old).to_contain_text("platform")  # seeded without a user
    expect(old).to_contain_text("2024-05-01 12:00:00 UTC")
    expect(old).to_contain_text("42 s")
    in_flight = page.locator(f"tr[data-deployment='{dashboard.deployment_id}']")
    expect(in_flight.get_by_role("link", name="Rollback")).to_have_count(0)

    before = deployment_count(dashboard)
    dialog = page.locator("#rollback-dialog")
    old.get_by_role("link", name="Rollback").click()
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(OLD_DEPLOYMENT)
    expect(dialog).to_contain_text("the <old> one")
    page.screenshot(path=str(SCREENSHOTS / "kubidu-rollback-dialog.png"), full_page=True)
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()

    old.get_by_role("link", name="Rollback").click()
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page).to_have_url(dashboard.url + SERVICE_PATH)
    assert deployment_count(dashboard) == before


def test_rollback_confirmation_page_refusals(page: Page, dashboard: Dashboard) -> None:
    log_in_admin(page, dashboard)
    before = deployment_count(dashboard)
    page.goto(f"{dashboard.url}{ROLLBACK_PATH}?target={OLD_DEPLOYMENT}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Roll back web?")
    expect(page.locator(".facts")).to_contain_text(OLD_DEPLOYMENT)
    with page.expect_response(dashboard.url + ROLLBACK_PATH) as posted:
        page.get_by_role("button", name="Roll back").click()
    assert posted.value.status == 409
    expect(page.locator("#rollback-error")).to_contain_text("still in progress")
    page.screenshot(path=str(SCREENSHOTS / "kubidu-rollback-confirm.png"), full_page=True)

    no_csrf = page.request.post(dashboard.url + ROLLBACK_PATH, form={"target": OLD_DEPLOYMENT})
    assert no_csrf.status == 403
    missing = page.goto(f"{dashboard.url}{ROLLBACK_PATH}?target=dep_nope")
    assert missing is not None and missing.status == 404

    page.context.clear_cookies()
    log_in(page, dashboard, EVE_EMAIL, EVE_PASSWORD)
    expect(page.locator(".pill")).to_have_text("team eve-team")
    csrf = page.locator("input[name=csrf_token]").first.get_attribute("value") or ""
    response = page.goto(f"{dashboard.url}{ROLLBACK_PATH}?target={OLD_DEPLOYMENT}")
    assert response is not None and response.status == 404
    posted_by_eve = page.request.post(
        dashboard.url + ROLLBACK_PATH, form={"target": OLD_DEPLOYMENT, "csrf_token": csrf}
    )
    assert posted_by_eve.status == 404
    assert deployment_count(dashboard) == before
