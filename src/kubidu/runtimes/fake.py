"""An in-memory runtime for fast tests of the control layer (reconciler, deploy pipeline, edge).

Honest where it matters: every replica with a port is a real asyncio TCP server on
``127.0.0.1`` that answers any HTTP request, so health checks and routing through a real edge
work. ``GET /`` answers ``fake <deployment_id>``; ``GET /env/<NAME>`` answers the replica's env
var (the spec's env plus ``PORT``) or 404. It passes the same conformance suite as the real
runtimes (``tests/contract/``), except for what needs real commands (``run_oneoff`` returns
scripted results).

What would live outside the control plane (a daemon, the process table) lives in a
:class:`FakeWorld`; a "restarted control plane" is a new ``FakeRuntime(world=old.world)``.
Test hooks: :meth:`FakeRuntime.crash`, :meth:`FakeRuntime.fail_next_apply`,
``oneoff_results`` / ``oneoff_calls``, ``world.healthy``. Never chosen by ``bootstrap.py``.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from kubidu.runtimes.base import (
    Capabilities,
    LogLine,
    OneOffResult,
    PermanentRuntimeError,
    Replica,
    ReplicaState,
    ReplicaStats,
    WorkloadSpec,
)


@dataclass
class FakeReplica:
    """One fake replica; mutable so the test hooks can crash and restart it."""

    replica_id: str
    spec: WorkloadSpec
    port: int | None = None
    state: ReplicaState = ReplicaState.STARTING
    restarts: int = 0
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    last_exit_code: int | None = None
    server: asyncio.Server | None = None

    def env(self) -> dict[str, str]:
        env = dict(self.spec.env)
        if self.port is not None:
            env["PORT"] = str(self.port)
        return env

    def observed(self) -> Replica:
        return Replica(
            replica_id=self.replica_id,
            service_key=self.spec.service_key,
            deployment_id=self.spec.deployment_id,
            generation=self.spec.generation,
            state=self.state,
            address=f"127.0.0.1:{self.port}" if self.port is not None else None,
            restarts=self.restarts,
            started_at=self.started_at,
            last_exit_code=self.last_exit_code,
            labels=self.spec.labels.as_dict(),
        )


@dataclass
class FakeWorld:
    """The state a restarted control plane finds again: replicas and their logs."""

    replicas: dict[str, dict[str, FakeReplica]] = field(default_factory=dict)
    logs: list[tuple[str, LogLine]] = field(default_factory=list)
    healthy: bool = True
    ids: itertools.count[int] = field(default_factory=itertools.count)


class FakeRuntime:
    """In-memory :class:`~kubidu.runtimes.base.Runtime` with real HTTP replicas."""

    def __init__(self, *, world: FakeWorld | None = None, restart_delay_s: float = 0.05) -> None:
        self.world = world if world is not None else FakeWorld()
        self.restart_delay_s = restart_delay_s
        self.oneoff_results: deque[OneOffResult] = deque()
        self.oneoff_calls: list[WorkloadSpec] = []
        self._failures: deque[Exception] = deque()
        self._tasks: set[asyncio.Task[None]] = set()

    # --- test hooks -------------------------------------------------------------------------

    def fail_next_apply(self, error: Exception) -> None:
        """The next :meth:`apply` raises ``error`` without changing anything."""
        self._failures.append(error)

    async def crash(self, replica_id: str) -> None:
        """The replica's app exits with code 1; it comes back after ``restart_delay_s``."""
        replica = self._find(replica_id)
        await _close(replica)
        replica.state = ReplicaState.BACKOFF
        replica.last_exit_code = 1
        self._log(replica, "system", f"exited with code 1; restarting in {self.restart_delay_s}s")
        task = asyncio.create_task(self._restart_later(replica))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Stop every replica (test teardown)."""
        for service_key in list(self.world.replicas):
            await self.remove(service_key)

    # --- the Runtime contract ---------------------------------------------------------------

    def capabilities(self) -> Capabilities:
        return Capabilities(
            name="fake",
            isolation=False,
            resource_limits=False,
            private_networking=False,
            images=False,
        )

    async def health(self) -> bool:
        return self.world.healthy

    async def apply(self, spec: WorkloadSpec) -> None:
        if self._failures:
            raise self._failures.popleft()
        if not spec.command or not spec.command[0]:
            raise PermanentRuntimeError("the command is empty")
        mine = [
            r
            for r in self._replicas(spec.service_key)
            if r.spec.deployment_id == spec.deployment_id
        ]
        for replica in mine[spec.replicas :]:
            await self._stop_replica(replica)
        for _ in range(spec.replicas - len(mine)):
            await self._start(spec)

    async def observe(self, service_key: str) -> list[Replica]:
        return [replica.observed() for replica in self._replicas(service_key)]

    async def stop(self, service_key: str, *, deployment_id: str, grace_s: float = 10.0) -> None:
        for replica in self._replicas(service_key):
            if replica.spec.deployment_id == deployment_id:
                await self._stop_replica(replica)

    async def remove(self, service_key: str) -> None:
        for replica in self._replicas(service_key):
            await self._stop_replica(replica)
        self.world.replicas.pop(service_key, None)

    async def run_oneoff(self, spec: WorkloadSpec, *, timeout_s: float = 600.0) -> OneOffResult:
        self.oneoff_calls.append(spec)
        if not spec.command or not spec.command[0]:
            raise PermanentRuntimeError("the command is empty")
        return self.oneoff_results.popleft() if self.oneoff_results else OneOffResult(0, "")

    async def logs(
        self, service_key: str, *, follow: bool = False, since: datetime | None = None
    ) -> AsyncIterator[LogLine]:
        seen = 0
        while True:
            entries = self.world.logs[seen:]
            seen += len(entries)
            for key, line in entries:
                if key == service_key and (since is None or line.timestamp >= since):
                    yield line
            if not follow:
                return
            await asyncio.sleep(0.05)

    async def stats(self, service_key: str) -> list[ReplicaStats]:
        return [ReplicaStats(r.replica_id, 0.0, 0) for r in self._replicas(service_key)]

    async def list_services(self) -> list[str]:
        return sorted(key for key, replicas in self.world.replicas.items() if replicas)

    # --- internals --------------------------------------------------------------------------

    def _replicas(self, service_key: str) -> list[FakeReplica]:
        return list(self.world.replicas.get(service_key, {}).values())

    def _find(self, replica_id: str) -> FakeReplica:
        for replicas in self.world.replicas.values():
            if replica_id in replicas:
                return replicas[replica_id]
        raise KeyError(replica_id)

    async def _start(self, spec: WorkloadSpec) -> None:
        replica_id = f"{spec.deployment_id}-{next(self.world.ids)}"
        replica = FakeReplica(replica_id=replica_id, spec=spec)
        self.world.replicas.setdefault(spec.service_key, {})[replica_id] = replica
        await self._listen(replica)
        self._log(replica, "system", "started")

    async def _listen(self, replica: FakeReplica) -> None:
        if replica.spec.port is not None:

            async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                await self._serve(replica, reader, writer)

            replica.server = await asyncio.start_server(handle, "127.0.0.1", replica.port or 0)
            replica.port = int(replica.server.sockets[0].getsockname()[1])
        replica.state = ReplicaState.RUNNING

    async def _restart_later(self, replica: FakeReplica) -> None:
        await asyncio.sleep(self.restart_delay_s)
        if replica.replica_id in self.world.replicas.get(replica.spec.service_key, {}):
            replica.restarts += 1
            replica.started_at = datetime.now(UTC)
            await self._listen(replica)
            self._log(replica, "system", "started")

    async def _stop_replica(self, replica: FakeReplica) -> None:
        await _close(replica)
        self.world.replicas.get(replica.spec.service_key, {}).pop(replica.replica_id, None)
        self._log(replica, "system", "stopped")

    async def _serve(
        self, replica: FakeReplica, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5.0)
            method, path, *_ = [*head.split(b"\r\n", 1)[0].decode("latin-1").split(" "), "", ""]
            status, body = _answer(replica, path)
            self._log(replica, "stdout", f"{method} {path}")
            writer.write(_response(status, body))
            await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, OSError):
            pass  # the client went away; a real app would not care either
        finally:
            writer.close()

    def _log(self, replica: FakeReplica, stream: str, line: str) -> None:
        entry = LogLine(
            datetime.now(UTC), replica.replica_id, replica.spec.deployment_id, stream, line
        )
        self.world.logs.append((replica.spec.service_key, entry))


def _answer(replica: FakeReplica, path: str) -> tuple[str, bytes]:
    if path.startswith("/env/"):
        value = replica.env().get(path.removeprefix("/env/"))
        return ("200 OK", value.encode()) if value is not None else ("404 Not Found", b"not set")
    return "200 OK", f"fake {replica.spec.deployment_id}".encode()


def _response(status: str, body: bytes) -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


async def _close(replica: FakeReplica) -> None:
    if replica.server is not None:
        replica.server.close()
        replica.server = None
