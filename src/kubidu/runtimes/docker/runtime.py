"""The docker runtime: each replica is a container of Docker Engine, driven by the docker SDK.

Chosen by ``bootstrap.py`` (``--runtime docker``) and driven by the control layer through the
:class:`~kubidu.runtimes.base.Runtime` contract. The Engine is the only state: containers carry
labels (``labels.py``) from which ``observe()`` rebuilds every replica, so a restarted control
plane re-adopts them, and apps keep serving while it is down. The Engine's ``unless-stopped``
restart policy restarts crashed replicas with its own exponential backoff. Containers of one
team's environment share a private network (``networks.py``); the edge reaches each replica at
its address on that network. The SDK is blocking, so every call runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import requests
from docker import APIClient
from docker.errors import APIError, DockerException, ImageNotFound, NotFound

from kubidu.core.images import built_for_other_team
from kubidu.runtimes.base import (
    Capabilities,
    LogLine,
    OneOffResult,
    PermanentRuntimeError,
    Replica,
    ReplicaStats,
    TemporaryRuntimeError,
    WorkloadSpec,
)
from kubidu.runtimes.docker import labels as lbl
from kubidu.runtimes.docker import logs as logread
from kubidu.runtimes.docker.containers import (
    address,
    app_argv,
    app_env,
    current_limits,
    exit_code,
    grace_seconds,
    host_config,
    limits,
    to_replica,
)
from kubidu.runtimes.docker.networks import ensure_network, remove_unused
from kubidu.runtimes.docker.stats import to_stats

T = TypeVar("T")
Info = Mapping[str, Any]
FOLLOW_POLL_S = 0.25
EXEC_CONFIRM_S = 5.0
PROBE_TIMEOUT_S = 0.3
_GONE = ("removing", "dead")


class DockerRuntime:
    """Runs replicas as labelled containers on one Docker Engine."""

    def __init__(self, *, api: APIClient, log_dir: Path, instance: str = "kubidu") -> None:
        self.api = api
        self.log_dir = log_dir
        self.instance = instance  # several control planes may share an Engine
        self._locks: dict[str, asyncio.Lock] = {}
        log_dir.mkdir(mode=0o700, parents=True, exist_ok=True)

    def capabilities(self) -> Capabilities:
        return Capabilities(
            name="docker",
            isolation=True,
            resource_limits=True,
            private_networking=True,
            images=True,
        )

    async def health(self) -> bool:
        try:
            return bool(await _engine(self.api.ping))
        except (TemporaryRuntimeError, PermanentRuntimeError):
            return False

    async def apply(self, spec: WorkloadSpec) -> None:
        lbl.check_key(spec.service_key)
        lbl.check_key(spec.deployment_id)
        argv = app_argv(spec.command, app_env(spec))
        async with self._lock(spec.service_key):
            await _engine(self._ensure_image, spec.artifact, spec.labels.team)
            mine = [i for i in await self._containers(spec.service_key) if _of(i, spec)]
            dead = [i for i in mine if i["State"]["Status"] in ("exited", "created")]
            await _all(_engine(self._discard, i, 0) for i in dead)
            alive = [i for i in mine if i not in dead]
            # The Engine can raise or lower a limit in place, but not lift one: replace those.
            lifted = [i for i in alive if set(current_limits(i)) - set(limits(spec))]
            await _all(_engine(self._discard, i, 10.0) for i in lifted)
            alive = [i for i in alive if i not in lifted]
            await _all(_engine(self._update_limits, i, spec) for i in alive)
            surplus = len(alive) - spec.replicas
            doomed = _least_useful(alive, surplus) if surplus > 0 else []
            await _all(_engine(self._discard, i, 10.0) for i in doomed)
            if surplus < 0:
                network = await _engine(self._network, spec)
                await _all(_engine(self._start, spec, argv, network) for _ in range(-surplus))

    async def observe(self, service_key: str) -> list[Replica]:
        lbl.check_key(service_key)
        infos = [
            i for i in await self._containers(service_key) if i["State"]["Status"] not in _GONE
        ]
        return list(await asyncio.gather(*(self._replica(i) for i in infos)))

    async def stop(self, service_key: str, *, deployment_id: str, grace_s: float = 10.0) -> None:
        lbl.check_key(service_key)
        async with self._lock(service_key):
            infos = await self._containers(service_key)
            doomed = [i for i in infos if _deployment(i) == deployment_id]
            await _all(_engine(self._discard, i, grace_s) for i in doomed)

    async def remove(self, service_key: str) -> None:
        lbl.check_key(service_key)
        async with self._lock(service_key):
            infos = await self._containers(service_key, role=None)
            await _all(_engine(self._discard, i, 10.0) for i in infos)
            for network in {n for i in infos for n in _networks(i)}:
                await _engine(remove_unused, self.api, network)

    async def run_oneoff(self, spec: WorkloadSpec, *, timeout_s: float = 600.0) -> OneOffResult:
        lbl.check_key(spec.service_key)
        argv = app_argv(spec.command, app_env(spec))
        await _engine(self._ensure_image, spec.artifact, spec.labels.team)
        network = await _engine(self._network, spec)
        container_id = await _engine(self._create, spec, argv, network, "oneoff")
        try:
            await _engine(self._start_created, container_id)
            return await _engine(self._wait_oneoff, container_id, timeout_s)
        finally:
            await _engine(self._force_remove, container_id)

    def logs(
        self, service_key: str, *, follow: bool = False, since: datetime | None = None
    ) -> AsyncIterator[LogLine]:
        lbl.check_key(service_key)
        return self._logs(service_key, follow=follow, since=since)

    async def stats(self, service_key: str) -> list[ReplicaStats]:
        lbl.check_key(service_key)
        running = [i for i in await self._containers(service_key) if _status(i) == "running"]
        return list(await asyncio.gather(*(_engine(self._stats, i) for i in running)))

    async def list_services(self) -> list[str]:
        found = await _engine(
            self.api.containers, all=True, filters=lbl.owned(self.instance, f"{lbl.ROLE}=replica")
        )
        return sorted({c["Labels"][lbl.SERVICE_KEY] for c in found})

    # -- internals (blocking: run through _engine) -------------------------------------

    def _lock(self, service_key: str) -> asyncio.Lock:
        return self._locks.setdefault(service_key, asyncio.Lock())

    async def _containers(self, service_key: str, *, role: str | None = "replica") -> list[Info]:
        return await _engine(self._inspect_all, service_key, role)

    def _inspect_all(self, service_key: str, role: str | None) -> list[Info]:
        filters = lbl.of_service(self.instance, service_key, role=role)
        infos = []
        for summary in self.api.containers(all=True, filters=filters):
            try:
                infos.append(self.api.inspect_container(summary["Id"]))
            except NotFound:
                continue  # removed between the listing and the inspection
        return infos

    def _ensure_image(self, ref: str, team: str) -> None:
        """Pull ``ref`` when missing; refuse an image Kubidu built for another team."""
        try:
            image = self.api.inspect_image(ref)
        except ImageNotFound:
            image = self._pull(ref)
        except APIError as exc:
            raise PermanentRuntimeError(f"invalid image reference {ref!r}: {_reason(exc)}") from exc
        if built_for_other_team((image.get("Config") or {}).get("Labels"), team):
            raise PermanentRuntimeError(f"image {ref!r} was built for another team")

    def _pull(self, ref: str) -> Info:
        try:
            self.api.pull(ref)
            return self.api.inspect_image(ref)  # type: ignore[no-any-return]
        except (APIError, DockerException) as exc:
            raise PermanentRuntimeError(
                f"image {ref!r} does not exist on this host and could not be pulled: {_reason(exc)}"
            ) from exc

    def _network(self, spec: WorkloadSpec) -> str:
        return ensure_network(self.api, instance=self.instance, labels=spec.labels)

    def _create(self, spec: WorkloadSpec, argv: list[str] | None, network: str, role: str) -> str:
        replica_id = f"{spec.deployment_id}-{secrets.token_hex(4)}"
        endpoint = self.api.create_endpoint_config(aliases=[spec.labels.service])
        created = self.api.create_container(
            spec.artifact,
            command=argv,
            name=lbl.container_name(replica_id),
            labels=lbl.container_labels(
                spec, instance=self.instance, replica_id=replica_id, role=role
            ),
            environment=app_env(spec),
            host_config=host_config(self.api, spec, network=network, restart=role == "replica"),
            networking_config=self.api.create_networking_config({network: endpoint}),
        )
        return str(created["Id"])

    def _start(self, spec: WorkloadSpec, argv: list[str] | None, network: str) -> None:
        self._start_created(self._create(spec, argv, network, "replica"))

    def _start_created(self, container_id: str) -> None:
        try:
            self.api.start(container_id)
            self._confirm_exec(container_id)
        except APIError as exc:
            self._force_remove(container_id)
            if _cannot_exec(exc):
                raise PermanentRuntimeError(f"the container cannot start: {_reason(exc)}") from exc
            raise
        except PermanentRuntimeError:
            self._force_remove(container_id)
            raise

    def _confirm_exec(self, container_id: str) -> None:
        """Wait until the init has exec'd the app; a program that cannot run is permanent.

        The init (PID 1) starts first, so a missing program shows only as an exit 126/127 of
        the container a moment later, with the init's reason in its output.
        """
        deadline = time.monotonic() + EXEC_CONFIRM_S
        while time.monotonic() < deadline:
            state = self.api.inspect_container(container_id)["State"]
            if state["Status"] != "running" and state.get("ExitCode") in (126, 127):
                output = _text(self.api.logs(container_id, stdout=True, stderr=True)).strip()
                raise PermanentRuntimeError(f"the app cannot be started: {output[-500:]}")
            if state["Status"] != "running":
                return
            processes = self._top(container_id)
            if processes is not None and _app_exec_d(processes):
                return
            time.sleep(0.02)

    def _top(self, container_id: str) -> Mapping[str, Any] | None:
        """The container's processes, or None when it exited since it was inspected (a quick
        one-off): the caller then looks at its state again."""
        try:
            processes: Mapping[str, Any] = self.api.top(container_id)
        except APIError as exc:
            if exc.status_code == 409:
                return None
            raise
        return processes

    def _wait_oneoff(self, container_id: str, timeout_s: float) -> OneOffResult:
        try:
            status = self.api.wait(container_id, timeout=timeout_s)
            code, note = int(status.get("StatusCode", -1)), ""
        except requests.exceptions.RequestException:
            self.api.kill(container_id)
            code, note = -9, f"\n[timed out after {timeout_s:g} s]"
        output = self.api.logs(container_id, stdout=True, stderr=True)
        return OneOffResult(exit_code=exit_code(code) or code, output=_text(output) + note)

    def _update_limits(self, info: Info, spec: WorkloadSpec) -> None:
        wanted = limits(spec)
        if current_limits(info) != wanted:
            self.api.update_container(info["Id"], **wanted)

    def _discard(self, info: Info, grace_s: float) -> None:
        """Stop (SIGTERM, SIGKILL after the grace period), keep its logs, remove."""
        try:
            if _status(info) in ("running", "restarting"):
                self.api.stop(info["Id"], timeout=grace_seconds(grace_s))
            logread.archive(self.api, info, self.log_dir)
        except NotFound:
            return
        self._force_remove(info["Id"])

    def _force_remove(self, container_id: str) -> None:
        try:
            self.api.remove_container(container_id, force=True)
        except NotFound:
            pass
        except APIError as exc:
            if "already in progress" not in str(exc):
                raise

    def _stats(self, info: Info) -> ReplicaStats:
        raw = self.api.stats(info["Id"], stream=False)
        return to_stats(info["Config"]["Labels"][lbl.REPLICA], raw)

    async def _replica(self, info: Info) -> Replica:
        where = address(info)
        listening = _status(info) == "running" and (
            where is None or await asyncio.to_thread(_listens, where)
        )
        last = await _engine(self._last_exit, info)
        return to_replica(info, listening=listening, last_exit=last)

    def _last_exit(self, info: Info) -> int | None:
        """The Engine resets ``ExitCode`` on every restart; its ``die`` events remember it."""
        state = info["State"]
        if _status(info) != "running":
            return exit_code(state.get("ExitCode"))
        if not info.get("RestartCount"):
            return None
        until = datetime.now(UTC) + timedelta(seconds=1)  # the Engine counts whole seconds
        events = self.api.events(
            since=datetime.fromisoformat(info["Created"][:19]).replace(tzinfo=UTC),
            until=until,
            filters={"container": info["Id"], "event": "die"},
            decode=True,
        )
        codes = [e.get("Actor", {}).get("Attributes", {}).get("exitCode") for e in events]
        known = [int(c) for c in codes if c is not None]
        return exit_code(known[-1]) if known else None

    async def _logs(
        self, service_key: str, *, follow: bool, since: datetime | None
    ) -> AsyncIterator[LogLine]:
        reader = logread.LogReader(self.api, since=since)
        for line in await asyncio.to_thread(reader.archived, self.log_dir / service_key):
            yield line
        while True:
            infos = await self._containers(service_key)
            for line in await _engine(reader.read_new, infos):
                yield line
            if not follow:
                return
            await asyncio.sleep(FOLLOW_POLL_S)


def _of(info: Info, spec: WorkloadSpec) -> bool:
    return _deployment(info) == spec.deployment_id


def _deployment(info: Info) -> str:
    return str(info["Config"]["Labels"].get(lbl.PREFIX + "deployment", ""))


def _status(info: Info) -> str:
    return str(info["State"]["Status"])


def _networks(info: Info) -> list[str]:
    return list(((info.get("NetworkSettings") or {}).get("Networks") or {}).keys())


def _listens(address: str) -> bool:
    host, port = address.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=PROBE_TIMEOUT_S):
            return True
    except OSError:
        return False


def _least_useful(infos: list[Info], count: int) -> list[Info]:
    """Whom to stop when scaling down: not-running ones first, then the newest."""
    ranked = sorted(infos, key=lambda i: (_status(i) == "running", -_created(i)))
    return ranked[:count]


def _created(info: Info) -> float:
    return datetime.fromisoformat(str(info["Created"])[:19]).timestamp()


def _app_exec_d(top: Mapping[str, Any]) -> bool:
    """True once a process other than the init (docker-init/tini) runs in the container."""
    column = list(top.get("Titles") or []).index("CMD")
    return any("docker-init" not in proc[column] for proc in top.get("Processes") or [])


def _cannot_exec(exc: APIError) -> bool:
    text = str(exc).lower()
    return any(
        s in text for s in ("executable file not found", "no such file", "permission denied")
    )


def _reason(exc: Exception) -> str:
    explanation = getattr(exc, "explanation", None)
    return str(explanation or exc).strip()


def _text(output: Any) -> str:
    return output.decode("utf-8", errors="replace") if isinstance(output, bytes) else str(output)


async def _engine(call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a blocking SDK call in a thread; an unreachable Engine is a temporary failure."""
    try:
        return await asyncio.to_thread(call, *args, **kwargs)
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
        raise TemporaryRuntimeError(f"Docker Engine unreachable: {exc}", retry_after=5.0) from exc


async def _all(jobs: Iterable[Awaitable[None]]) -> None:
    """Await every job even if some fail, then raise the first failure."""
    results = await asyncio.gather(*jobs, return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:
        raise errors[0]
