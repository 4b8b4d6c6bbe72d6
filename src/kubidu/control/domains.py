"""The background domain verifier: DNS checks with backoff, then certificates from the edge.

``server.py`` runs :meth:`DomainVerifier.run` beside the workers; the use-cases wake it
(``wake``) when a domain is added, checked or removed. One tick:

1. DNS phase: every due ``pending`` domain is checked (dnspython); the newly verified ones are
   routed with **one** route sync for the whole batch (a config reload aborts ACME orders in
   flight, so reloads are batched and never sent while nothing changed).
2. Certificate phase: every due routed domain gets a probe — a TLS handshake with SNI against
   the edge, which makes Caddy obtain the certificate on demand (the ``ask`` endpoint allows
   it) and then shows its expiry and issuer. Probes run as their own tasks, because a
   handshake waits for the whole ACME order. No certificate yet and no CA error → still
   ``issuing``; a CA error in Caddy's log → ``failed`` with that reason (Caddy keeps retrying;
   so do we, with backoff); a certificate → ``active``, and one more route sync adds the
   HTTP→HTTPS redirect.

State changes themselves are in ``services/domain_states.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Protocol

from kubidu.core.domains import ROUTED, DomainStatus
from kubidu.dns import DnsChecker
from kubidu.edge.certs import Certificate, ProbeFailed
from kubidu.services import domain_states as states
from kubidu.services.domain_states import DomainTask
from kubidu.store.db import Database
from kubidu.store.models import utcnow

log = logging.getLogger(__name__)

ISSUING_RECHECK = timedelta(seconds=1)


class CertificateEdge(Protocol):
    async def certificate(self, hostname: str, *, timeout_s: float = 5.0) -> Certificate: ...

    def issuance_error(self, hostname: str, *, since: datetime) -> str | None: ...


class DomainVerifier:
    def __init__(
        self,
        *,
        db: Database,
        dns: DnsChecker,
        edge: CertificateEdge,
        sync_routes: Callable[[], Awaitable[None]],
        public_ips: tuple[str, ...] = (),
        probe_timeout_s: float = 5.0,
        idle_s: float = 30.0,
    ) -> None:
        self._db = db
        self._dns = dns
        self._edge = edge
        self._sync_routes = sync_routes
        self._public_ips = public_ips
        self._probe_timeout_s = probe_timeout_s
        self._idle_s = idle_s
        self._event: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._probes: dict[str, asyncio.Task[None]] = {}
        self._woken = True

    def wake(self) -> None:
        """Check due domains now and re-sync routes (safe to call from any thread)."""
        self._woken = True
        if self._loop is not None and self._event is not None:
            self._loop.call_soon_threadsafe(self._event.set)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()
        try:
            while True:
                try:
                    await self.tick()
                except Exception:
                    log.exception("domain verifier tick failed; retrying")
                await self._sleep()
        finally:
            for task in self._probes.values():
                task.cancel()

    async def tick(self) -> None:
        """One pass over the due domains (see the module docstring)."""
        woken, self._woken = self._woken, False
        due = await asyncio.to_thread(states.due_domains, self._db)
        pending = [t for t in due if t.status == DomainStatus.PENDING]
        verified = await asyncio.gather(*(self._check_dns(t) for t in pending))
        if any(verified) or woken:
            await self._sync_routes()
        if any(verified):
            due = await asyncio.to_thread(states.due_domains, self._db)
        for task in due:
            if task.status in ROUTED and task.id not in self._probes:
                self._probes[task.id] = asyncio.create_task(self._probe_then_forget(task))

    async def _sleep(self) -> None:
        assert self._event is not None
        nearest = await asyncio.to_thread(states.next_due, self._db)
        timeout = self._idle_s
        if nearest is not None:
            timeout = min(max((nearest - utcnow()).total_seconds(), 0.1), self._idle_s)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), timeout)
        self._event.clear()

    async def _check_dns(self, task: DomainTask) -> bool:
        check = await self._dns.check(
            task.hostname, token=task.token, target=task.target, public_ips=self._public_ips
        )
        return await asyncio.to_thread(states.record_dns, self._db, task.id, check)

    async def _probe_then_forget(self, task: DomainTask) -> None:
        try:
            await self._probe(task)
        except Exception:
            log.exception("certificate probe of %s failed", task.hostname)
        finally:
            self._probes.pop(task.id, None)
            self.wake()  # its next check may be due sooner than the verifier sleeps

    async def _probe(self, task: DomainTask) -> None:
        since = task.issuing_since or utcnow()
        if task.status == DomainStatus.VERIFIED:
            await asyncio.to_thread(states.record_issuing, self._db, task.id, since=since)
        try:
            cert = await self._edge.certificate(task.hostname, timeout_s=self._probe_timeout_s)
        except ProbeFailed as error:
            await self._no_certificate(task, since, str(error))
            return
        became_active = await asyncio.to_thread(
            states.record_certificate,
            self._db,
            task.id,
            expires_at=cert.expires_at,
            issuer=cert.issuer,
        )
        if became_active:
            log.info("certificate for %s is active until %s", task.hostname, cert.expires_at)
            await self._sync_routes()

    async def _no_certificate(self, task: DomainTask, since: datetime, probe_error: str) -> None:
        reason = self._edge.issuance_error(task.hostname, since=since)
        if reason is None and task.status == DomainStatus.ACTIVE:
            reason = f"the edge no longer serves a certificate: {probe_error}"
        if reason is None:
            await asyncio.to_thread(
                states.record_waiting, self._db, task.id, retry_in=ISSUING_RECHECK
            )
            return
        log.warning("certificate for %s: %s", task.hostname, reason)
        await asyncio.to_thread(states.record_failure, self._db, task.id, reason=reason)
