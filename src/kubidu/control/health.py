"""Waiting for a new deployment's replicas to become healthy before it receives traffic.

Healthy means: the runtime reports the replica RUNNING, and an HTTP GET of the health path
answers below 400 (or, without a health path, a TCP connect to its port succeeds). A replica
that exits before that fails the deploy at once, with its exit code, instead of waiting out
the whole timeout.
"""

from __future__ import annotations

import asyncio
import time

import httpx

from kubidu.runtimes.base import Replica, ReplicaState, Runtime, WorkloadSpec

_POLL_S = 0.1


class HealthCheckFailed(Exception):
    """The new replicas did not become healthy; the message says why."""


async def wait_until_healthy(runtime: Runtime, spec: WorkloadSpec, *, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(timeout=spec.health.timeout_s) as client:
        while time.monotonic() < deadline:
            replicas = [
                r
                for r in await runtime.observe(spec.service_key)
                if r.deployment_id == spec.deployment_id
            ]
            _raise_if_crashed(replicas)
            healthy = [r for r in replicas if await _probe(client, r, spec)]
            if len(healthy) >= spec.replicas:
                return
            await asyncio.sleep(_POLL_S)
    raise HealthCheckFailed(_timeout_reason(spec, timeout_s))


def _raise_if_crashed(replicas: list[Replica]) -> None:
    for replica in replicas:
        if (
            replica.state in (ReplicaState.EXITED, ReplicaState.OOM_KILLED)
            or (replica.state == ReplicaState.BACKOFF and replica.restarts >= 1)
            or (replica.state == ReplicaState.BACKOFF and replica.last_exit_code is not None)
        ):
            code = replica.last_exit_code
            how = (
                "was killed for using too much memory"
                if (replica.state == ReplicaState.OOM_KILLED)
                else f"exited with code {code}"
            )
            raise HealthCheckFailed(f"the app {how} before becoming healthy")


async def _probe(client: httpx.AsyncClient, replica: Replica, spec: WorkloadSpec) -> bool:
    if replica.state != ReplicaState.RUNNING or replica.address is None:
        return False
    if spec.health.path is None:
        return True  # RUNNING already means the port accepts connections
    try:
        response = await client.get(f"http://{replica.address}{spec.health.path}")
    except httpx.HTTPError:
        return False
    return response.status_code < 400


def _timeout_reason(spec: WorkloadSpec, timeout_s: float) -> str:
    if spec.health.path:
        what = f"GET {spec.health.path} did not answer below 400"
    else:
        what = "the app never opened its port (it must listen on $PORT)"
    return f"replicas not healthy after {timeout_s:.0f}s: {what}"
