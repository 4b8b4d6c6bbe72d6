"""The runtime contract: the one protocol every runtime (process, docker, kubernetes) implements.

The control layer (``control/``) drives runtimes only through :class:`Runtime`. The contract is
level-based, like a Kubernetes controller: :meth:`Runtime.apply` converges the runtime to a
desired :class:`WorkloadSpec` and is idempotent; :meth:`Runtime.observe` derives the current state
from the runtime itself (its labels), never from control-plane memory, so a restarted control
plane re-adopts what is running. ``tests/contract/`` checks every implementation the same way.

A service may have replicas of several deployments at once during a zero-downtime rollout: the
new deployment is applied beside the old one, and the old one is stopped explicitly afterwards.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable


class RuntimeError_(Exception):
    """Base of runtime failures. Subclasses say whether retrying can help."""


class TemporaryRuntimeError(RuntimeError_):
    """A transient failure: retry after ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentRuntimeError(RuntimeError_):
    """A failure that will not go away by retrying (bad artifact, bad command...)."""


@dataclass(frozen=True)
class Labels:
    """Identity of a workload; carried by every object a runtime creates."""

    team: str
    project: str
    environment: str
    service: str
    deployment: str
    generation: int

    def as_dict(self) -> dict[str, str]:
        return {
            "team": self.team,
            "project": self.project,
            "environment": self.environment,
            "service": self.service,
            "deployment": self.deployment,
            "generation": str(self.generation),
        }


@dataclass(frozen=True)
class HealthCheck:
    """How to tell that a replica is ready: HTTP GET ``path`` (2xx/3xx), or a TCP connect."""

    path: str | None = None
    timeout_s: float = 2.0
    grace_s: float = 60.0  # how long a new replica may take to become healthy


@dataclass(frozen=True)
class WorkloadSpec:
    """Desired state of one deployment of one service.

    ``service_key`` is a stable, runtime-safe identifier of the service (unique platform-wide).
    ``artifact`` is a release directory (process runtime) or an image reference (docker).
    ``run_as`` names the unprivileged system account the replicas run as, when isolation applies.
    """

    service_key: str
    deployment_id: str
    generation: int
    artifact: str
    command: tuple[str, ...]
    labels: Labels
    env: Mapping[str, str] = field(default_factory=dict)
    replicas: int = 1
    port: int | None = 8000
    health: HealthCheck = field(default_factory=HealthCheck)
    cpu_limit: float | None = None
    memory_limit_mb: int | None = None
    run_as: str | None = None


class ReplicaState(StrEnum):
    STARTING = "starting"  # process started, not yet known to listen
    RUNNING = "running"
    BACKOFF = "backoff"  # crashed; waiting before the next restart
    EXITED = "exited"
    OOM_KILLED = "oom_killed"


@dataclass(frozen=True)
class Replica:
    """One observed replica. ``address`` is host:port reachable from the edge."""

    replica_id: str
    service_key: str
    deployment_id: str
    generation: int
    state: ReplicaState
    address: str | None
    restarts: int = 0
    started_at: datetime | None = None
    last_exit_code: int | None = None
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LogLine:
    """One line an app wrote, as the runtime captured it."""

    timestamp: datetime
    replica_id: str
    deployment_id: str
    stream: str  # "stdout" | "stderr" | "system"
    line: str


@dataclass(frozen=True)
class ReplicaStats:
    replica_id: str
    cpu_percent: float
    memory_bytes: int


@dataclass(frozen=True)
class Capabilities:
    """Optional features, so callers can ask rather than guess (Nomad's driver model)."""

    name: str
    isolation: bool  # replicas run under a separate identity from the control plane
    resource_limits: bool
    private_networking: bool
    images: bool  # can run pre-built images


@dataclass(frozen=True)
class OneOffResult:
    exit_code: int
    output: str


@runtime_checkable
class Runtime(Protocol):
    """What the control layer needs from a runtime. All methods are safe to call concurrently."""

    def capabilities(self) -> Capabilities: ...

    async def health(self) -> bool:
        """True when the runtime itself is usable (daemon up, directories writable...)."""
        ...

    async def apply(self, spec: WorkloadSpec) -> None:
        """Converge: exactly ``spec.replicas`` replicas of ``spec.deployment_id`` run.

        Idempotent. Never touches replicas of other deployments of the same service.
        """
        ...

    async def observe(self, service_key: str) -> list[Replica]:
        """Every replica of the service, of every deployment, from the runtime's own state."""
        ...

    async def stop(self, service_key: str, *, deployment_id: str, grace_s: float = 10.0) -> None:
        """Stop a deployment's replicas: SIGTERM, then SIGKILL after ``grace_s``."""
        ...

    async def remove(self, service_key: str) -> None:
        """Stop and forget every replica of the service."""
        ...

    async def run_oneoff(self, spec: WorkloadSpec, *, timeout_s: float = 600.0) -> OneOffResult:
        """Run ``spec.command`` once to completion (release commands, cron runs)."""
        ...

    def logs(
        self, service_key: str, *, follow: bool = False, since: datetime | None = None
    ) -> AsyncIterator[LogLine]:
        """Lines written by the service's replicas, oldest first; ``follow`` keeps streaming."""
        ...

    async def stats(self, service_key: str) -> list[ReplicaStats]: ...

    async def list_services(self) -> list[str]:
        """Every service_key the runtime currently holds replicas for (orphan detection)."""
        ...
