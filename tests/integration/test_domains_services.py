"""Custom-domain use-cases on SQLite and PostgreSQL, with a real DNS server (challtestsrv).

Aspects checked:
* add → ``pending`` with the CNAME + TXT records to create; the stored name is the IDNA form;
* verify with the records missing → still pending, the reason names the missing TXT record;
  with the records present → ``verified``; ``ask`` allows it then, and never a pending or an
  unknown name, nor ``*.localhost`` generated hostnames;
* another team gets NotFound for list/verify/remove on team A's service and a 409 (without
  details) for claiming a name team A holds; nothing written by any refusal;
* bad input (IP addresses, the base domain and names under it, hostile Unicode, wildcards,
  overlong names) → InvalidInput with a reason, no row, no audit record;
* add, verify and remove are audited; remove frees the name for another service.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from kubidu.core.errors import Conflict, InvalidInput, NotFound
from kubidu.dns import DnsChecker
from kubidu.services import domain_states, domains, projects
from kubidu.services.context import Actor, DomainSetup, Platform
from tests.helpers.pebble import ChallTestSrv, require_pebble
from tests.integration.services_fixtures import TenantA, count_rows

pytest_plugins = ["tests.integration.services_fixtures"]


@pytest.fixture(scope="module")
def dns_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChallTestSrv]:
    require_pebble()
    server = ChallTestSrv(log_path=Path(tmp_path_factory.mktemp("dns")) / "dns.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def p(platform: Platform, dns_server: ChallTestSrv) -> Platform:
    setup = DomainSetup(dns=DnsChecker(resolver=dns_server.resolver), public_ips=("127.0.0.1",))
    return dataclasses.replace(platform, domains=setup)


def _snapshot(p: Platform) -> tuple[int, int]:
    return count_rows(p.db, "domains"), count_rows(p.db, "audit_records")


def test_add_verify_and_ask(
    p: Platform, admin: Actor, tenant_a: TenantA, dns_server: ChallTestSrv
) -> None:
    view = domains.add_domain(p, actor=admin, path=tenant_a.web, hostname="Bücher.example.COM.")
    assert view.hostname == "xn--bcher-kva.example.com" and view.status == "pending"
    kinds = {(r.type, r.name) for r in view.records}
    assert kinds == {
        ("CNAME", "xn--bcher-kva.example.com"),
        ("TXT", "_kubidu-challenge.xn--bcher-kva.example.com"),
    }
    name = view.hostname
    checked = asyncio.run(domains.verify_domain(p, actor=admin, path=tenant_a.web, hostname=name))
    assert checked.status == "pending"
    assert "_kubidu-challenge" in (checked.reason or "")
    assert not domain_states.issuance_allowed(p.db, name, base_domain="localhost")

    txt = next(r for r in view.records if r.type == "TXT")
    cname = next(r for r in view.records if r.type == "CNAME")
    dns_server.set_txt(txt.name, txt.value)
    dns_server.set_cname(cname.name, cname.value)
    checked = asyncio.run(domains.verify_domain(p, actor=admin, path=tenant_a.web, hostname=name))
    assert checked.status == "verified" and checked.reason is None
    assert domain_states.issuance_allowed(p.db, name.upper() + ".", base_domain="localhost")
    assert not domain_states.issuance_allowed(p.db, "other.example.com", base_domain="localhost")
    generated = projects.list_services(p, actor=admin, path=tenant_a.web[:2])[0].hostname
    assert not domain_states.issuance_allowed(p.db, generated, base_domain="localhost")
    assert domain_states.routed_hostnames(p.db) == {tenant_a.web_id: ([name], [])}


def test_other_team_cannot_see_touch_or_steal(
    p: Platform, admin: Actor, rival: Actor, tenant_a: TenantA
) -> None:
    domains.add_domain(p, actor=admin, path=tenant_a.web, hostname="shop.example.com")
    projects.create_service(p, actor=rival, path=("own", "production"), name="site")
    before = _snapshot(p)
    attempts = [
        lambda: domains.list_domains(p, actor=rival, path=tenant_a.web),
        lambda: asyncio.run(
            domains.verify_domain(p, actor=rival, path=tenant_a.web, hostname="shop.example.com")
        ),
        lambda: domains.remove_domain(
            p, actor=rival, path=tenant_a.web, hostname="shop.example.com"
        ),
        lambda: domains.add_domain(p, actor=rival, path=tenant_a.web, hostname="x.example.com"),
    ]
    for attempt in attempts:
        with pytest.raises(NotFound):
            attempt()
    own = ("own", "production", "site")
    with pytest.raises(Conflict) as taken:
        domains.add_domain(p, actor=rival, path=own, hostname="shop.example.com")
    assert "default" not in taken.value.message and "web" not in taken.value.message
    assert _snapshot(p) == before
    domains.remove_domain(p, actor=admin, path=tenant_a.web, hostname="shop.example.com")
    assert domains.add_domain(p, actor=rival, path=own, hostname="shop.example.com").status


BAD = [
    "",
    "1.2.3.4",
    "[2001:db8::1]",
    "::1",
    "localhost",
    "web.localhost",
    "example",
    "*.example.com",
    "ex\u202eample.com",
    "a\u200db.example.com",
    "xn--pple-43d.com",
    "\u0430pple.com",
    "-lead.example.com",
    "a..example.com",
    "x" * 64 + ".example.com",
    ("a" * 60 + ".") * 5 + "com",
    "exa mple.com",
    "evil.com/path",
]


@pytest.mark.parametrize("bad", BAD)
def test_bad_hostnames_are_refused_and_nothing_is_written(
    p: Platform, admin: Actor, tenant_a: TenantA, bad: str
) -> None:
    before = _snapshot(p)
    with pytest.raises(InvalidInput) as refused:
        domains.add_domain(p, actor=admin, path=tenant_a.web, hostname=bad)
    assert refused.value.message
    assert _snapshot(p) == before


def test_actions_are_audited(p: Platform, admin: Actor, tenant_a: TenantA) -> None:
    audits = count_rows(p.db, "audit_records")
    domains.add_domain(p, actor=admin, path=tenant_a.web, hostname="audit.example.com")
    asyncio.run(
        domains.verify_domain(p, actor=admin, path=tenant_a.web, hostname="audit.example.com")
    )
    domains.remove_domain(p, actor=admin, path=tenant_a.web, hostname="audit.example.com")
    assert count_rows(p.db, "audit_records") == audits + 3
    assert count_rows(p.db, "domains") == 0
