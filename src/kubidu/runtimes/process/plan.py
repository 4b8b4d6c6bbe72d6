"""The replica plan: everything a supervisor needs to run one replica, as a JSON file.

Written by :class:`ProcessRuntime` into ``<replica_id>.spec.json`` and read by the supervisor it
starts (stdlib only). A plan never changes after it is written: a replica is immutable, like the
deployment it belongs to.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Backoff:
    """Restart delays: ``initial`` doubling up to ``maximum``; reset after ``healthy_s`` up."""

    initial: float = 0.5
    maximum: float = 30.0
    healthy_s: float = 30.0

    def delay(self, failures: int) -> float:
        """Delay before the restart that follows ``failures`` consecutive failures (>= 1)."""
        return float(min(self.maximum, self.initial * 2 ** max(0, failures - 1)))


@dataclass(frozen=True)
class ReplicaPlan:
    replica_id: str
    service_key: str
    deployment_id: str
    generation: int
    labels: dict[str, str]
    artifact: str
    command: list[str]
    env: dict[str, str]
    port: int | None
    uid: int | None  # None: run as the supervisor's own user
    gid: int | None
    spec_file: str
    state_file: str
    log_file: str
    stop_file: str
    backoff: Backoff = field(default_factory=Backoff)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReplicaPlan:
        fields = dict(data)
        fields["backoff"] = Backoff(**fields.get("backoff", {}))
        return cls(**fields)
