"""What every use-case receives: the caller (:class:`Actor`) and the platform's dependencies.

Built once by ``bootstrap.py`` and handed to the entry points, which pass it on explicitly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kubidu.dns import DnsChecker
from kubidu.logs.hub import LogHub
from kubidu.logs.model import LogStore
from kubidu.runtimes.base import Runtime
from kubidu.security.crypto import Keyring
from kubidu.store.db import Database


@dataclass(frozen=True)
class Actor:
    """Who is acting: a user (by id and e-mail), from which address."""

    user_id: str
    email: str
    remote_addr: str | None = None


@dataclass(frozen=True)
class DomainSetup:
    """What the custom-domain use-cases need: the DNS checker, the addresses apex domains must
    point at (KUBIDU_PUBLIC_IPS), and a way to wake the background verifier."""

    dns: DnsChecker
    public_ips: tuple[str, ...] = ()
    wake_verifier: Callable[[], None] = field(default=lambda: None)


@dataclass(frozen=True)
class Platform:
    """The dependencies of the use-cases."""

    db: Database
    keyring: Keyring
    runtime: Runtime
    base_domain: str
    http_port: int
    uploads_dir: Path
    logs: LogStore
    log_hub: LogHub
    wake_workers: Callable[[], None] = field(default=lambda: None)
    domains: DomainSetup | None = None  # None: custom domains are not offered

    def service_url(self, hostname: str) -> str:
        port = "" if self.http_port == 80 else f":{self.http_port}"
        return f"http://{hostname}{port}/"
