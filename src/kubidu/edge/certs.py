"""Reading certificate state back from the edge: what Caddy serves, and why it could not.

``CaddyEdge`` exposes these; the domain verifier (``control/domains.py``) calls them.

* :func:`probe_certificate` does a TLS handshake with SNI against the edge's HTTPS port, as a
  browser would, and reads the certificate Caddy presents (expiry, issuer). For a name without
  a certificate this handshake is also what makes Caddy obtain one (on-demand TLS), so it may
  block for as long as the ACME order takes: callers give it a timeout and treat a timeout as
  "still issuing".
* :func:`last_issuance_error` finds Caddy's most recent "could not get certificate" log entry
  for a name, so a failure is shown with the CA's own reason rather than a bare TLS alert.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509

_LOG_TAIL_BYTES = 512 * 1024
# Logged when a config reload cancels an order: not the CA's verdict, so not a failure.
_TRANSIENT = ("context canceled",)


@dataclass(frozen=True)
class Certificate:
    """The certificate the edge serves for a name."""

    hostname: str
    expires_at: datetime
    issuer: str


class ProbeFailed(Exception):
    """The handshake gave no certificate for the name (the message says what happened)."""


async def probe_certificate(
    hostname: str, *, port: int, host: str = "127.0.0.1", timeout_s: float = 5.0
) -> Certificate:
    """The certificate served for ``hostname`` (SNI) on ``host:port``; ProbeFailed if none."""
    try:
        der = await asyncio.wait_for(_handshake(hostname, host, port), timeout_s)
    except TimeoutError:
        raise ProbeFailed(
            f"no certificate within {timeout_s:.0f}s (issuance in progress?)"
        ) from None
    except (OSError, ssl.SSLError) as error:
        raise ProbeFailed(f"TLS handshake failed: {error}") from None
    cert = x509.load_der_x509_certificate(der)
    if hostname not in _dns_names(cert):
        raise ProbeFailed(f"the edge served a certificate that does not name {hostname}")
    return Certificate(hostname, cert.not_valid_after_utc, cert.issuer.rfc4514_string())


async def _handshake(hostname: str, host: str, port: int) -> bytes:
    # Trust is not checked here: the probe asks "what does the edge serve", and the CA may be
    # a private one (Pebble). Callers compare issuers if they care.
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    _reader, writer = await asyncio.open_connection(
        host, port, ssl=context, server_hostname=hostname
    )
    try:
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    finally:
        writer.close()
    if not der:
        raise ssl.SSLError("the edge presented no certificate")
    return bytes(der)


def _dns_names(cert: x509.Certificate) -> list[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return [name.lower() for name in san.value.get_values_for_type(x509.DNSName)]


def last_issuance_error(log_path: Path, hostname: str, *, since: datetime) -> str | None:
    """Caddy's latest reason for failing to get a certificate for ``hostname`` after ``since``."""
    found = None
    for entry in _log_entries(log_path):
        if _is_failure_for(entry, hostname, since):
            found = str(entry.get("error") or entry.get("msg"))
    if found is None or any(marker in found for marker in _TRANSIENT):
        return None
    return found


def _is_failure_for(entry: dict[str, object], hostname: str, since: datetime) -> bool:
    if entry.get("logger") != "tls.obtain" or entry.get("identifier") != hostname:
        return False
    ts = entry.get("ts")
    return isinstance(ts, int | float) and datetime.fromtimestamp(ts, UTC) >= since


def _log_entries(log_path: Path) -> list[dict[str, object]]:
    try:
        with log_path.open("rb") as handle:
            handle.seek(max(0, log_path.stat().st_size - _LOG_TAIL_BYTES))
            lines = handle.read().splitlines()
    except OSError:
        return []
    entries = []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # a partial first line, or Caddy's non-JSON startup output
        if isinstance(entry, dict):
            entries.append(entry)
    return entries
