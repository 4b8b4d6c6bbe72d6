"""Conformance: what goes into a replica (env) and what comes out (logs, stats).

Checks:
* the spec's env and ``PORT`` are injected; ``PORT`` matches the replica's address;
* the control plane's own environment (its secrets) never reaches the app;
* logs hold the app's output in order, can be followed, and honour ``since``;
* stats() reports one entry per replica.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from runtime_harness import Harness, eventually, get, running

from kubidu.runtimes.base import LogLine, Runtime

pytestmark = pytest.mark.anyio


async def test_env_and_port_are_injected(harness: Harness) -> None:
    await harness.runtime.apply(harness.spec("svc-a", "dep1", env={"GREETING": "hello world"}))
    [replica] = await running(harness.runtime, "svc-a", "dep1", 1)
    assert (await get(replica.address, "/env/GREETING")).text == "hello world"
    assert replica.address is not None
    assert (await get(replica.address, "/env/PORT")).text == replica.address.rsplit(":", 1)[1]


async def test_control_plane_env_does_not_leak(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBIDU_MASTER_KEY", "top-secret-key")
    await harness.runtime.apply(harness.spec("svc-a", "dep1"))
    [replica] = await running(harness.runtime, "svc-a", "dep1", 1)
    assert (await get(replica.address, "/env/KUBIDU_MASTER_KEY")).status_code == 404


async def _lines(runtime: Runtime, service_key: str) -> list[LogLine]:
    return [line async for line in runtime.logs(service_key)]


def _requests(lines: list[LogLine]) -> list[str]:
    return [line.line for line in lines if line.stream == "stdout" and line.line.startswith("GET")]


async def test_logs_hold_the_output_in_order(harness: Harness) -> None:
    await harness.runtime.apply(harness.spec("svc-a", "dep1"))
    [replica] = await running(harness.runtime, "svc-a", "dep1", 1)
    for path in ("/a", "/b", "/c"):
        await get(replica.address, path)
    lines = await eventually(
        lambda: _lines(harness.runtime, "svc-a"), lambda ls: len(_requests(ls)) >= 3
    )
    assert _requests(lines) == ["GET /a", "GET /b", "GET /c"]
    assert {line.replica_id for line in lines} == {replica.replica_id}
    assert {line.deployment_id for line in lines} == {"dep1"}
    assert [line.timestamp for line in lines] == sorted(line.timestamp for line in lines)


async def test_logs_follow_streams_new_lines(harness: Harness) -> None:
    await harness.runtime.apply(harness.spec("svc-a", "dep1"))
    [replica] = await running(harness.runtime, "svc-a", "dep1", 1)
    stream = harness.runtime.logs("svc-a", follow=True)

    async def first_request() -> str:
        async for line in stream:
            if line.line.startswith("GET"):
                return line.line
        return ""

    waiter = asyncio.create_task(first_request())
    await asyncio.sleep(0.3)
    await get(replica.address, "/later")
    assert await asyncio.wait_for(waiter, timeout=10) == "GET /later"


async def test_logs_since_skips_older_lines(harness: Harness) -> None:
    await harness.runtime.apply(harness.spec("svc-a", "dep1"))
    [replica] = await running(harness.runtime, "svc-a", "dep1", 1)
    await get(replica.address, "/before")
    await eventually(lambda: _lines(harness.runtime, "svc-a"), lambda ls: len(_requests(ls)) == 1)
    cutoff = datetime.now(UTC)
    await get(replica.address, "/after")

    async def recent() -> list[LogLine]:
        return [line async for line in harness.runtime.logs("svc-a", since=cutoff)]

    lines = await eventually(recent, lambda ls: len(_requests(ls)) >= 1)
    assert _requests(lines) == ["GET /after"]


async def test_stats_reports_every_replica(harness: Harness) -> None:
    await harness.runtime.apply(harness.spec("svc-a", "dep1", replicas=2))
    replicas = await running(harness.runtime, "svc-a", "dep1", 2)
    stats = await harness.runtime.stats("svc-a")
    assert {s.replica_id for s in stats} == {r.replica_id for r in replicas}
    assert all(s.cpu_percent >= 0 and s.memory_bytes >= 0 for s in stats)
    if harness.runs_commands:  # a real process has a resident set
        assert all(s.memory_bytes > 1_000_000 for s in stats)
