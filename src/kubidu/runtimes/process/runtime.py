"""The process runtime: replicas as supervised local processes; the embedded default runtime.

Chosen by ``bootstrap.py`` (``--runtime process``) and driven by the control layer through the
:class:`~kubidu.runtimes.base.Runtime` contract. Each replica is run by a detached supervisor
(``supervisor.py``), so apps keep serving while the control plane is down; ``observe()`` reads
the supervisors' state files (``files.py``), so a new :class:`ProcessRuntime` over the same
directories re-adopts what is running. Under ``isolation`` each replica runs as its team's system
user (``security.sysusers``) while logs and state stay root-only.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Iterable
from datetime import datetime
from pathlib import Path

from kubidu.runtimes.base import (
    Capabilities,
    LogLine,
    OneOffResult,
    PermanentRuntimeError,
    Replica,
    ReplicaState,
    ReplicaStats,
    TemporaryRuntimeError,
    WorkloadSpec,
)
from kubidu.runtimes.process import oneoff
from kubidu.runtimes.process.files import STATE_SUFFIX, ReplicaFiles, private_dir, read_json
from kubidu.runtimes.process.launch import LaunchError, app_argv, app_env
from kubidu.runtimes.process.logread import stream_logs
from kubidu.runtimes.process.plan import ReplicaPlan
from kubidu.runtimes.process.replicas import (
    Record,
    discard,
    free_port,
    launch,
    load_records,
    supervisor_alive,
    sweep_stale_plans,
    terminate,
    to_replica,
)
from kubidu.runtimes.process.stats import sample
from kubidu.security.sysusers import ensure_system_user

# Keys become file names: no separators, no dot-dot, nothing a shell or path could misread.
_SAFE_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
Account = tuple[int | None, int | None]


class ProcessRuntime:
    """Runs replicas as detached, supervised process groups on this machine."""

    def __init__(
        self, *, state_dir: Path, log_dir: Path, isolation: bool, python: str = sys.executable
    ) -> None:
        self.state_dir = private_dir(state_dir)
        self.log_dir = private_dir(log_dir)
        self.isolation = isolation
        self.python = python
        self._locks: dict[str, asyncio.Lock] = {}

    def capabilities(self) -> Capabilities:
        return Capabilities(
            name="process",
            isolation=self.isolation,
            resource_limits=False,
            private_networking=False,
            images=False,
        )

    async def health(self) -> bool:
        return all(map(_writable, (self.state_dir, self.log_dir)))

    async def apply(self, spec: WorkloadSpec) -> None:
        _check_key(spec.service_key)
        _check_key(spec.deployment_id)
        _check_launchable(spec)
        account = await self._account(spec)
        async with self._lock(spec.service_key):
            mine = [
                r for r in self._live(spec.service_key) if r.deployment_id == spec.deployment_id
            ]
            surplus = len(mine) - spec.replicas
            if surplus > 0:
                await _all(terminate(r, grace_s=10.0) for r in _least_useful(mine, surplus))
            taken = self._ports_in_use()
            ports = [self._claim_port(spec, taken) for _ in range(-surplus)]
            await _all(self._start(spec, account, port) for port in ports)

    async def observe(self, service_key: str) -> list[Replica]:
        _check_key(service_key)
        return [to_replica(record) for record in self._live(service_key)]

    async def stop(self, service_key: str, *, deployment_id: str, grace_s: float = 10.0) -> None:
        _check_key(service_key)
        async with self._lock(service_key):
            doomed = [r for r in self._live(service_key) if r.deployment_id == deployment_id]
            await _all(terminate(r, grace_s=grace_s) for r in doomed)

    async def remove(self, service_key: str) -> None:
        _check_key(service_key)
        async with self._lock(service_key):
            await _all(terminate(r, grace_s=10.0) for r in self._live(service_key))
            sweep_stale_plans(self.state_dir / service_key)
            _rmdir_if_empty(self.state_dir / service_key)

    async def run_oneoff(self, spec: WorkloadSpec, *, timeout_s: float = 600.0) -> OneOffResult:
        _check_launchable(spec)
        uid, gid = await self._account(spec)
        return await oneoff.run_oneoff(spec, uid=uid, gid=gid, timeout_s=timeout_s)

    def logs(
        self, service_key: str, *, follow: bool = False, since: datetime | None = None
    ) -> AsyncIterator[LogLine]:
        _check_key(service_key)
        return stream_logs(self.log_dir / service_key, follow=follow, since=since)

    async def stats(self, service_key: str) -> list[ReplicaStats]:
        _check_key(service_key)
        records = [r for r in self._live(service_key) if r.child_pid]
        return await asyncio.to_thread(sample, records)

    async def list_services(self) -> list[str]:
        keys = [path.name for path in self.state_dir.iterdir() if path.is_dir()]
        return sorted(key for key in keys if _SAFE_KEY.match(key) and self._live(key))

    def pids(self, service_key: str) -> dict[str, tuple[int, int | None]]:
        """``replica_id → (supervisor pid, app pid)``: for diagnostics and tests."""
        return {r.replica_id: (r.supervisor_pid, r.child_pid) for r in self._live(service_key)}

    def _live(self, service_key: str) -> list[Record]:
        """Records whose supervisor is alive; the others are discarded on the way."""
        records = load_records(
            state_dir=self.state_dir, log_dir=self.log_dir, service_key=service_key
        )
        alive = [record for record in records if supervisor_alive(record)]
        for record in records:
            if record not in alive:
                discard(record)
        sweep_stale_plans(self.state_dir / service_key)
        return alive

    def _lock(self, service_key: str) -> asyncio.Lock:
        return self._locks.setdefault(service_key, asyncio.Lock())

    async def _account(self, spec: WorkloadSpec) -> Account:
        if not (self.isolation and spec.run_as):
            return None, None
        try:
            return await asyncio.to_thread(ensure_system_user, spec.run_as)
        except ValueError as exc:
            raise PermanentRuntimeError(str(exc)) from exc
        except OSError as exc:
            raise TemporaryRuntimeError(str(exc), retry_after=5.0) from exc

    def _ports_in_use(self) -> set[int]:
        ports = set()
        for path in self.state_dir.glob(f"*/*{STATE_SUFFIX}"):
            port = (read_json(path) or {}).get("port")
            if isinstance(port, int):
                ports.add(port)
        return ports

    def _claim_port(self, spec: WorkloadSpec, taken: set[int]) -> int | None:
        if spec.port is None:
            return None  # a worker: no port, no address
        port = free_port(taken)
        taken.add(port)
        return port

    async def _start(self, spec: WorkloadSpec, account: Account, port: int | None) -> None:
        replica_id = f"{spec.deployment_id}-{secrets.token_hex(4)}"
        files = ReplicaFiles.of(
            state_dir=self.state_dir,
            log_dir=self.log_dir,
            service_key=spec.service_key,
            replica_id=replica_id,
        )
        private_dir(files.spec.parent)
        private_dir(files.log.parent)
        await launch(_plan(spec, replica_id, files, account, port), python=self.python)


def _plan(
    spec: WorkloadSpec, replica_id: str, files: ReplicaFiles, account: Account, port: int | None
) -> ReplicaPlan:
    return ReplicaPlan(
        replica_id=replica_id,
        service_key=spec.service_key,
        deployment_id=spec.deployment_id,
        generation=spec.generation,
        labels=spec.labels.as_dict(),
        artifact=str(Path(spec.artifact).resolve()),
        command=list(spec.command),
        env=dict(spec.env),
        port=port,
        uid=account[0],
        gid=account[1],
        spec_file=str(files.spec),
        state_file=str(files.state),
        log_file=str(files.log),
        stop_file=str(files.stop),
    )


def _check_key(key: str) -> None:
    if not _SAFE_KEY.match(key) or ".." in key:
        raise PermanentRuntimeError(f"unsafe runtime key {key!r}")


def _check_launchable(spec: WorkloadSpec) -> None:
    """Reject what can never start (missing release, unknown program) before starting anything."""
    if not Path(spec.artifact).is_dir():
        raise PermanentRuntimeError(f"release directory {spec.artifact} does not exist")
    try:
        app_argv(spec.command, app_env(spec.env, port=0, home=spec.artifact))
    except LaunchError as exc:
        raise PermanentRuntimeError(str(exc)) from exc


def _least_useful(records: list[Record], count: int) -> list[Record]:
    """The replicas to stop when scaling down: unhealthy ones first, then the newest."""
    ranked = sorted(
        records,
        key=lambda r: (r.data.get("state") == ReplicaState.RUNNING, -_started(r)),
    )
    return ranked[:count]


def _started(record: Record) -> float:
    started = record.data.get("started_at")
    return datetime.fromisoformat(started).timestamp() if started else float("inf")


async def _all(jobs: Iterable[Awaitable[None]]) -> None:
    """Await every job even if some fail, then raise the first failure."""
    results = await asyncio.gather(*jobs, return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:
        raise errors[0]


def _writable(directory: Path) -> bool:
    try:
        with tempfile.TemporaryFile(dir=directory):
            return True
    except OSError:
        return False


def _rmdir_if_empty(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not empty (a plan is being launched) or already gone
        directory.rmdir()
