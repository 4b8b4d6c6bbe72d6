"""Custom domains, the pure part: hostname rules, the DNS records a user must create, states.

Called by ``services/domains.py`` (validation at the boundary, the records to show) and by
``control/domains.py`` (the state machine and its retry schedule). No I/O here.

Hazards this module is shaped by:

* A hostname reaches Caddy's config, DNS queries and ACME orders, so it is normalised once to
  its ASCII (IDNA/punycode) form here and only that form is stored.
* Unicode hostnames are a phishing tool (``xn--pple-43d.com`` is "apple.com" spelt with a
  Cyrillic "a"; bidi controls; zero-width joiners): IDNA 2008 with UTS #46 rejects the
  invisible and disallowed code points, and a label may not mix Latin letters with letters
  of another script.
* IP addresses, single-label names, the platform's own base domain and names under it are
  refused: they could hijack other services' generated hostnames or the control plane's.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

import idna

from kubidu.core.errors import InvalidInput

CHALLENGE_LABEL = "_kubidu-challenge"
MAX_HOSTNAME = 253
_LDH_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
MAX_CHECK_DELAY_S = 60.0


class DomainStatus(StrEnum):
    """pending → verified → issuing → active | failed (failed retries back to active)."""

    PENDING = "pending"
    VERIFIED = "verified"
    ISSUING = "issuing"
    ACTIVE = "active"
    FAILED = "failed"


# States in which the DNS records were found right: the edge routes the name and the ask
# endpoint lets Caddy obtain a certificate for it.
ROUTED = frozenset(
    {DomainStatus.VERIFIED, DomainStatus.ISSUING, DomainStatus.ACTIVE, DomainStatus.FAILED}
)


@dataclass(frozen=True)
class DnsRecord:
    """One record the user must create at their DNS provider."""

    type: str  # CNAME | A | AAAA | TXT
    name: str
    value: str


def normalize_hostname(raw: str, *, base_domain: str) -> str:
    """The ASCII form of ``raw`` if it may be claimed as a custom domain; else InvalidInput."""
    text = raw.strip().rstrip(".")
    if not text:
        raise InvalidInput("hostname is empty")
    if len(text) > MAX_HOSTNAME * 4:
        raise InvalidInput("hostname is too long")
    _reject_ip(text)
    ascii_name = _to_ascii(text)
    _check_labels(ascii_name)
    _reject_platform_names(ascii_name, base_domain)
    return ascii_name


def _reject_ip(text: str) -> None:
    candidate = text.strip("[]")
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        if re.fullmatch(r"[0-9.]+", candidate) or ":" in candidate:
            raise InvalidInput(f"{text!r} looks like an IP address, not a hostname") from None
        return
    raise InvalidInput(f"{text!r} is an IP address: custom domains must be hostnames")


def _to_ascii(text: str) -> str:
    if "*" in text:
        raise InvalidInput("wildcard domains are not supported: add each hostname")
    try:
        encoded = idna.encode(text, uts46=True, std3_rules=True, transitional=False)
        unicode_form = idna.decode(encoded)  # also catches crafted xn-- labels
    except idna.IDNAError as error:
        raise InvalidInput(f"{text!r} is not a valid hostname: {error}") from None
    for label in unicode_form.split("."):
        _check_script(label)
    return encoded.decode("ascii").lower()


def _check_script(label: str) -> None:
    """Refuse a label that mixes Latin letters with letters of another script (homographs)."""
    scripts = {_script(char) for char in label if char.isalpha()}
    if "LATIN" in scripts and len(scripts) > 1:
        raise InvalidInput(
            f"the label {label!r} mixes Latin letters with {', '.join(sorted(scripts - {'LATIN'}))}"
            " letters: such names imitate other domains"
        )


def _script(char: str) -> str:
    if char.isascii():
        return "LATIN"
    return unicodedata.name(char, "UNKNOWN").split(" ")[0]


def _check_labels(name: str) -> None:
    if len(name) > MAX_HOSTNAME:
        raise InvalidInput(f"hostname is longer than {MAX_HOSTNAME} characters")
    labels = name.split(".")
    if len(labels) < 2:
        raise InvalidInput(f"{name!r} is not a fully qualified domain name (like app.example.com)")
    for label in labels:
        if not _LDH_LABEL.fullmatch(label):
            raise InvalidInput(
                f"{name!r} is not a valid hostname: label {label!r} must be 1-63 letters, "
                "digits or inner hyphens"
            )
    if labels[-1].isdigit():
        raise InvalidInput(f"{name!r} has a numeric top-level domain")


def _reject_platform_names(name: str, base_domain: str) -> None:
    base = base_domain.lower().rstrip(".")
    for reserved in {base, "localhost"}:
        if name == reserved or name.endswith("." + reserved):
            raise InvalidInput(
                f"{name!r} is the platform's own domain or under it ({reserved}); "
                "generated hostnames are assigned by the platform"
            )


def challenge_name(hostname: str) -> str:
    """Where the ownership TXT record lives."""
    return f"{CHALLENGE_LABEL}.{hostname}"


def is_apex(hostname: str) -> bool:
    """A zone's apex cannot carry a CNAME; we treat two-label names (example.com) as apexes."""
    return hostname.count(".") == 1


def required_records(
    hostname: str, *, target: str, token: str, public_ips: tuple[str, ...]
) -> list[DnsRecord]:
    """The records to create: routing (CNAME, or A/AAAA at an apex) and the ownership TXT."""
    records = [_routing_record(ip, hostname) for ip in public_ips] if is_apex(hostname) else []
    if not records:
        records = [DnsRecord("CNAME", hostname, target)]
    return [*records, DnsRecord("TXT", challenge_name(hostname), token)]


def _routing_record(ip: str, hostname: str) -> DnsRecord:
    kind = "AAAA" if ipaddress.ip_address(ip).version == 6 else "A"
    return DnsRecord(kind, hostname, ip)


def next_check_delay(attempts: int) -> float:
    """Backoff between automatic checks of a domain: 1, 2, 4 … seconds, at most a minute."""
    return float(min(2 ** max(attempts, 0), MAX_CHECK_DELAY_S))
