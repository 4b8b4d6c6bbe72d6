"""What the dashboard derives from views, without a browser (``kubidu.web.render`` and
``kubidu.web.sections``).

Aspects checked:
* badge colours: domains (active green; pending/verified/issuing amber; failed red), CI-gated
  pushes (deployed green; waiting/deploying amber; skipped/failed red), unknown states grey;
* CPU and memory limits read as "0.5 CPU", "2 CPUs", "256 MB", "2 GB";
* how soon the Domains and Pushes lists look again: fast while a domain is verified or issuing
  or a push waits or deploys, slowly while a domain waits for DNS or retries, never when settled;
* the base URL of pasted links: KUBIDU_PUBLIC_URL when set, else the request's, without a
  trailing slash.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from starlette.requests import Request

from kubidu.services.domains import DomainView
from kubidu.services.github import PendingView
from kubidu.web.render import Renderer, cpus, make_templates, megabytes, status_class
from kubidu.web.sections import FAST_POLL_MS, SLOW_POLL_MS, domain_poll_ms, pending_poll_ms

NOW = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "css"),
    [
        ("active", "ok"),
        ("pending", "busy"),
        ("verified", "busy"),
        ("issuing", "busy"),
        ("failed", "bad"),
        ("deployed", "ok"),
        ("waiting", "busy"),
        ("deploying", "busy"),
        ("skipped", "bad"),
        ("superseded", "idle"),
        (None, "idle"),
    ],
)
def test_status_class(status: str | None, css: str) -> None:
    assert status_class(status) == css


def test_limits_read_naturally() -> None:
    assert [cpus(0.5), cpus(1.0), cpus(2.0), cpus(1.5)] == [
        "0.5 CPU",
        "1 CPU",
        "2 CPUs",
        "1.5 CPUs",
    ]
    assert [megabytes(256), megabytes(1536), megabytes(2048)] == ["256 MB", "1536 MB", "2 GB"]


def _domain(status: str) -> DomainView:
    return DomainView("a.example.com", "web", status, [], None, None, None, None, NOW)


def _pending(status: str) -> PendingView:
    return PendingView("pend_1", "a" * 40, "main", status, None, None, NOW, NOW)


def test_domain_poll() -> None:
    assert domain_poll_ms([]) == 0
    assert domain_poll_ms([_domain("active")]) == 0
    assert domain_poll_ms([_domain("active"), _domain("pending")]) == SLOW_POLL_MS
    assert domain_poll_ms([_domain("failed")]) == SLOW_POLL_MS
    assert domain_poll_ms([_domain("pending"), _domain("issuing")]) == FAST_POLL_MS
    assert domain_poll_ms([_domain("verified")]) == FAST_POLL_MS


def test_pending_poll() -> None:
    assert pending_poll_ms([]) == 0
    assert pending_poll_ms([_pending("skipped"), _pending("deployed")]) == 0
    assert pending_poll_ms([_pending("skipped"), _pending("waiting")]) == FAST_POLL_MS
    assert pending_poll_ms([_pending("deploying")]) == FAST_POLL_MS


def _request() -> Request:
    scope = {
        "type": "http",
        "method": "GET",
        "scheme": "http",
        "server": ("127.0.0.1", 8420),
        "path": "/projects/a/b/c",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1:8420")],
    }
    return Request(scope)


def test_base_url() -> None:
    templates = make_templates()
    assert Renderer(templates).base_url(_request()) == "http://127.0.0.1:8420"
    public = Renderer(templates, public_url="https://paas.example.com/")
    assert public.base_url(_request()) == "https://paas.example.com"
