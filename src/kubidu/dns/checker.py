"""Is a custom domain's DNS right? The ownership TXT record and the routing record.

A domain is verified when ``_kubidu-challenge.<host>`` holds the domain's token, and the host
either is a CNAME to the service's generated hostname or has A/AAAA records that all point at
the platform's public addresses (apex domains cannot carry a CNAME).

Queries go to ``KUBIDU_DNS_RESOLVER`` (``host:port``) or, by default, the system's resolvers.
Nothing is cached here: a user who just fixed a record expects "check now" to see it (their
resolver's own cache is out of our hands). A lookup that fails (timeout, SERVFAIL) is reported
as missing with the reason; the caller retries later.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import dns.asyncresolver
import dns.exception
import dns.rdata
import dns.resolver
from dns.rdtypes.ANY.CNAME import CNAME
from dns.rdtypes.ANY.TXT import TXT
from dns.rdtypes.IN.A import A
from dns.rdtypes.IN.AAAA import AAAA

from kubidu.core.domains import challenge_name


@dataclass(frozen=True)
class DnsCheck:
    """``missing`` says, in words for the user, which record is absent or wrong."""

    missing: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.missing


def parse_resolver(address: str) -> tuple[str, int]:
    """``host:port``, ``[v6]:port`` or a bare address (port 53) → (address, port)."""
    text = address.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.lstrip(":") or "53"
    elif text.count(":") == 1:
        host, port = text.split(":")
    else:
        host, port = text, "53"
    ipaddress.ip_address(host)  # a resolver must be an address, or we'd need DNS to find DNS
    return host, int(port)


class DnsChecker:
    """Checks records through one resolver; ``resolver`` None means the system's."""

    def __init__(self, *, resolver: str | None, timeout_s: float = 3.0) -> None:
        self._resolver = dns.asyncresolver.Resolver(configure=resolver is None)
        if resolver is not None:
            host, port = parse_resolver(resolver)
            self._resolver.nameservers = [host]
            self._resolver.port = port
        self._resolver.lifetime = timeout_s

    async def check(
        self, hostname: str, *, token: str, target: str, public_ips: tuple[str, ...]
    ) -> DnsCheck:
        missing = [
            *await self._ownership(hostname, token),
            *await self._routing(hostname, target, public_ips),
        ]
        return DnsCheck(tuple(missing))

    async def _ownership(self, hostname: str, token: str) -> list[str]:
        name = challenge_name(hostname)
        found, error = await self._lookup(name, "TXT")
        values = [b"".join(r.strings).decode(errors="replace") for r in found if isinstance(r, TXT)]
        if token in values:
            return []
        return [f"TXT {name} must be {token!r} ({_found(values, error)})"]

    async def _routing(self, hostname: str, target: str, public_ips: tuple[str, ...]) -> list[str]:
        cnames, cname_error = await self._lookup(hostname, "CNAME")
        names = [_bare(r.target.to_text()) for r in cnames if isinstance(r, CNAME)]
        if _bare(target) in names:
            return []
        if public_ips and await self._points_at(hostname, public_ips):
            return []
        wanted = f"CNAME {hostname} must point to {target}"
        if public_ips:
            wanted += f" (or A/AAAA to {', '.join(public_ips)})"
        return [f"{wanted} ({_found(names, cname_error)})"]

    async def _points_at(self, hostname: str, public_ips: tuple[str, ...]) -> bool:
        addresses: list[str] = []
        for kind in ("A", "AAAA"):
            found, _ = await self._lookup(hostname, kind)
            addresses += [str(r.address) for r in found if isinstance(r, A | AAAA)]
        allowed = {ipaddress.ip_address(ip) for ip in public_ips}
        return bool(addresses) and all(ipaddress.ip_address(a) in allowed for a in addresses)

    async def _lookup(self, name: str, kind: str) -> tuple[list[dns.rdata.Rdata], str | None]:
        try:
            answer = await self._resolver.resolve(name, kind, search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return [], None
        except dns.exception.DNSException as error:
            return [], f"lookup failed: {error}"
        return [r for r in answer if r.rdtype == answer.rdtype], None


def _bare(name: str) -> str:
    return name.rstrip(".").lower()


def _found(values: list[str], error: str | None) -> str:
    if error:
        return error
    return f"found {', '.join(values)}" if values else "not found"
