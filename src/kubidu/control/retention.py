"""Housekeeping loop: log retention, per-service log caps, and pruning of old artifacts.

Runs at start and then every ``interval_s``. Log lines older than the retention period are
deleted; a service keeping more than its cap loses its oldest lines; artifacts of successful
deployments beyond the newest ``keep`` per service are pruned (``artifacts.py``).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta

from kubidu.control.artifacts import ArtifactPruner
from kubidu.logs.model import LogStore
from kubidu.store.models import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetentionPolicy:
    log_days: float
    lines_per_service: int


class Housekeeper:
    def __init__(self, *, store: LogStore, pruner: ArtifactPruner, policy: RetentionPolicy) -> None:
        self._store, self._pruner, self._policy = store, pruner, policy

    async def run(self, *, interval_s: float = 600.0) -> None:
        while True:
            try:
                await asyncio.to_thread(self.run_once)
            except Exception:  # keep the loop alive; the next pass may succeed
                log.exception("housekeeping pass failed")
            await asyncio.sleep(interval_s)

    def run_once(self) -> None:
        cutoff = utcnow() - timedelta(days=self._policy.log_days)
        expired = self._store.delete_before(cutoff)
        trimmed = sum(
            self._store.trim_service(service_id, keep=self._policy.lines_per_service)
            for service_id in self._store.services()
        )
        pruned = self._pruner.prune_all()
        if expired or trimmed or pruned:
            log.info(
                "housekeeping: %d expired and %d capped log lines, %d artifacts pruned",
                expired,
                trimmed,
                pruned,
            )
