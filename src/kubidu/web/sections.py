"""What the service page's Domains and GitHub sections show, read through the use-cases.

Called by ``pages.py`` (the whole service page) and by ``domains.py`` / ``github.py`` (the
sections' fragments, which ``static/service.js`` re-fetches while something is in flight).
Every read is authorized by the use-case it calls, so another team's service is a 404 here too.

``poll_ms`` tells the page how soon to look again: soon while a domain is being verified or
its certificate issued, or while a push waits for CI or deploys; rarely while a domain waits
for its DNS records (the background verifier rechecks those with backoff); never once settled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kubidu.core.errors import NotFound
from kubidu.services import domains, github, projects
from kubidu.services.context import Actor, Platform

ServicePath = tuple[str, str, str]

FAST_POLL_MS = 1500
SLOW_POLL_MS = 10_000
_DOMAIN_FAST = frozenset({"verified", "issuing"})
_DOMAIN_SLOW = frozenset({"pending", "failed"})
_PENDING_FAST = frozenset({"waiting", "deploying"})
OVERRIDABLE = frozenset({"waiting", "skipped", "failed"})  # as ``github.override`` allows
WEBHOOK_PATH = "/api/v1/webhooks/github"  # api/webhooks.py
WEBHOOK_EVENTS = "pushes, pull requests, check runs, check suites and statuses"


@dataclass(frozen=True)
class DomainSection:
    enabled: bool  # custom domains are configured on this server
    items: list[domains.DomainView]
    poll_ms: int


@dataclass(frozen=True)
class GitHubSection:
    git_remote: str
    webhook_url: str
    connection: github.ConnectionView | None
    pending: list[github.PendingView]
    poll_ms: int


def domain_section(p: Platform, actor: Actor, path: ServicePath) -> DomainSection:
    if p.domains is None:
        return DomainSection(enabled=False, items=[], poll_ms=0)
    items = domains.list_domains(p, actor=actor, path=path)
    return DomainSection(enabled=True, items=items, poll_ms=domain_poll_ms(items))


def domain_poll_ms(items: list[domains.DomainView]) -> int:
    states = {d.status for d in items}
    if states & _DOMAIN_FAST:
        return FAST_POLL_MS
    return SLOW_POLL_MS if states & _DOMAIN_SLOW else 0


def github_section(p: Platform, actor: Actor, path: ServicePath, base_url: str) -> GitHubSection:
    project, _env, service = path
    _require_service(p, actor, path)
    try:
        connection = github.get_connection(p, actor=actor, path=path)
    except NotFound:  # the caller may see the service (checked above): it is not connected
        connection = None
    pending = github.list_pending(p, actor=actor, path=path) if connection else []
    return GitHubSection(
        git_remote=f"{base_url}/git/{project}/{service}.git",
        webhook_url=base_url + (connection.webhook_path if connection else WEBHOOK_PATH),
        connection=connection,
        pending=pending,
        poll_ms=pending_poll_ms(pending),
    )


def _require_service(p: Platform, actor: Actor, path: ServicePath) -> None:
    """404 unless the caller may see the service (so "not connected" says nothing more)."""
    listed = projects.list_services(p, actor=actor, path=path[:2])
    if not any(s.name == path[2] for s in listed):
        raise NotFound(f"service {path[2]!r} not found")


def pending_poll_ms(pending: list[github.PendingView]) -> int:
    return FAST_POLL_MS if {r.status for r in pending} & _PENDING_FAST else 0


def section_context(sections: tuple[DomainSection, GitHubSection]) -> dict[str, Any]:
    """The template names of both sections, plus empty form state (no error, no input)."""
    domain, gh = sections
    return {
        "domains": domain,
        "github": gh,
        "overridable": OVERRIDABLE,
        "webhook_events": WEBHOOK_EVENTS,
        "domain_error": None,
        "domain_input": "",
        "github_error": None,
        "github_form": None,
    }
