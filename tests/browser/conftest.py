"""Fixtures of the dashboard's browser tests.

* ``dashboard`` (module): a seeded dashboard server (see ``dashboard_app.py``).
* ``kubidu_server``: the real ``kubidu server`` (API + dashboard + workers + edge) started
  as a subprocess in its own data dir, everything it started killed afterwards.
* ``browser`` (module): Debian's Chromium under Playwright (never a downloaded browser).
* ``page`` (per test): a page in a fresh browser context, so every test starts without cookies.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.browser.dashboard_app import Dashboard, serve_dashboard
from tests.helpers.browser import chromium_args


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    with serve_dashboard(tmp_path_factory.mktemp("dashboard")) as running:
        yield running


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium_path, args=chromium_args(), headless=True
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()
