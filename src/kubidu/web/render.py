"""Rendering for the dashboard: the Jinja2 environment, its filters and the error page.

Used by every route module of ``kubidu.web``. Autoescaping is always on, and ``StrictUndefined``
turns a typo in a template into an error instead of an empty string.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

import jinja2
from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from kubidu.core.errors import KubiduError

TEMPLATES_DIR = Path(__file__).parent / "templates"

# Deployments and services; custom domains (pending → verified → issuing → active | failed);
# CI-gated pushes (waiting → deploying → deployed | skipped | superseded | failed).
_OK = frozenset({"live", "active", "deployed"})
_BUSY = frozenset({"deploying", "building", "queued", "pending", "verified", "issuing", "waiting"})
_BAD = frozenset({"failed", "crashed", "skipped"})


def status_class(status: str | None) -> str:
    """CSS modifier of a status badge: ok (green), busy (amber), bad (red) or idle (grey)."""
    if status in _OK:
        return "ok"
    if status in _BUSY:
        return "busy"
    if status in _BAD:
        return "bad"
    return "idle"


def when(moment: datetime | None) -> str:
    """A timestamp as UTC, to the second; naive datetimes from the store are UTC."""
    if moment is None:
        return "—"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def duration(seconds: float | None) -> str:
    """A deployment's duration, short: "4.2 s", "42 s", "3 m 05 s", "1 h 02 m"."""
    if seconds is None:
        return "—"
    if seconds < 10:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} m {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} m"


def cpus(value: float) -> str:
    """A CPU limit: "0.5 CPU", "2 CPUs"."""
    text = f"{value:g}"
    return f"{text} CPU" if value <= 1 else f"{text} CPUs"


def megabytes(value: int) -> str:
    """A memory limit in MB: "256 MB", or "2 GB" for whole gigabytes (1024 MB)."""
    if value >= 1024 and value % 1024 == 0:
        return f"{value // 1024} GB"
    return f"{value} MB"


class _ServiceNames(Protocol):
    project: str
    environment: str
    name: str


def service_url(path: tuple[str, str, str], anchor: str = "") -> str:
    """The service page's path (names URL-quoted), optionally with ``#anchor``."""
    project, env, service = (quote(part, safe="") for part in path)
    return f"/projects/{project}/{env}/{service}" + (f"#{anchor}" if anchor else "")


def service_page(service: _ServiceNames) -> str:
    """Filter: the page of a service view (anything with project, environment and name)."""
    return service_url((service.project, service.environment, service.name))


def make_templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["status_class"] = status_class
    env.filters["when"] = when
    env.filters["duration"] = duration
    env.filters["cpus"] = cpus
    env.filters["megabytes"] = megabytes
    env.filters["service_page"] = service_page
    return Jinja2Templates(env=env)


@dataclass(frozen=True)
class Renderer:
    """Renders pages; every page gets ``user`` (or None) and ``csrf_token`` for its forms.

    ``public_url`` is how users reach the control plane (``KUBIDU_PUBLIC_URL``), for the URLs
    pages tell them to paste elsewhere (git remote, webhook); None: the URL of the request.
    """

    templates: Jinja2Templates
    public_url: str | None = None

    def base_url(self, request: Request) -> str:
        return (self.public_url or str(request.base_url)).rstrip("/")

    def page(
        self, request: Request, name: str, context: dict[str, Any], *, status_code: int = 200
    ) -> Response:
        base = {"user": None, "csrf_token": ""}
        return self.templates.TemplateResponse(
            request, name, {**base, **context}, status_code=status_code
        )

    def error(self, request: Request, exc: KubiduError) -> Response:
        context = {"status_code": exc.status_code, "message": exc.message}
        return self.page(request, "error.html", context, status_code=exc.status_code)
