"""Conformance: the lifecycle of replicas, the same for every runtime.

Checks:
* the runtime satisfies the protocol and reports itself healthy;
* apply → N replicas RUNNING, each address answers HTTP for its deployment;
* apply is idempotent and converges up and down;
* two deployments coexist, and stop() of one leaves the other serving;
* a restarted control plane re-adopts the same replicas and does not duplicate them;
* a crashed replica is restarted with ``restarts`` incremented;
* remove() forgets the service; list_services() lists what runs;
* labels are reported by observe(); a worker (no port) runs without an address.
"""

from __future__ import annotations

import pytest
from runtime_harness import Harness, eventually, get, labels, running

from kubidu.runtimes.base import PermanentRuntimeError, Replica, ReplicaState, Runtime

pytestmark = pytest.mark.anyio


async def test_satisfies_the_protocol_and_is_healthy(harness: Harness) -> None:
    assert isinstance(harness.runtime, Runtime)
    assert harness.runtime.capabilities().name == harness.name
    assert await harness.runtime.health() is True


async def test_apply_starts_replicas_that_answer(harness: Harness) -> None:
    await harness.runtime.apply(harness.spec("svc-a", "dep1", replicas=2))
    replicas = await running(harness.runtime, "svc-a", "dep1", 2)
    assert len({r.address for r in replicas}) == 2
    for replica in replicas:
        response = await get(replica.address)
        assert response.status_code == 200
        assert "dep1" in response.text


async def test_apply_is_idempotent(harness: Harness) -> None:
    spec = harness.spec("svc-a", "dep1", replicas=2)
    await harness.runtime.apply(spec)
    await harness.runtime.apply(spec)
    first = await running(harness.runtime, "svc-a", "dep1", 2)
    await harness.runtime.apply(spec)
    again = await running(harness.runtime, "svc-a", "dep1", 2)
    assert {r.replica_id for r in again} == {r.replica_id for r in first}


async def test_apply_converges_down_and_up(harness: Harness) -> None:
    await harness.runtime.apply(harness.spec("svc-a", "dep1", replicas=3))
    await running(harness.runtime, "svc-a", "dep1", 3)
    await harness.runtime.apply(harness.spec("svc-a", "dep1", replicas=1))
    assert len(await harness.runtime.observe("svc-a")) == 1
    await harness.runtime.apply(harness.spec("svc-a", "dep1", replicas=2))
    await running(harness.runtime, "svc-a", "dep1", 2)


async def test_deployments_coexist_and_stop_leaves_the_other(harness: Harness) -> None:
    await harness.runtime.apply(harness.spec("svc-a", "old", replicas=1))
    await harness.runtime.apply(harness.spec("svc-a", "new", replicas=2))
    await running(harness.runtime, "svc-a", "old", 1)
    new = await running(harness.runtime, "svc-a", "new", 2)
    await harness.runtime.stop("svc-a", deployment_id="old", grace_s=2.0)
    remaining = await harness.runtime.observe("svc-a")
    assert sorted(r.replica_id for r in remaining) == sorted(r.replica_id for r in new)
    assert "new" in (await get(new[0].address)).text


async def test_restarted_control_plane_readopts_replicas(harness: Harness) -> None:
    spec = harness.spec("svc-a", "dep1", replicas=2)
    await harness.runtime.apply(spec)
    before = await running(harness.runtime, "svc-a", "dep1", 2)
    identities = {r.replica_id: harness.identity("svc-a", r.replica_id) for r in before}
    restarted = harness.restarted()
    after = await running(restarted, "svc-a", "dep1", 2)
    assert {r.replica_id for r in after} == set(identities)
    await restarted.apply(spec)
    again = await running(restarted, "svc-a", "dep1", 2)
    assert {r.replica_id: harness.identity("svc-a", r.replica_id) for r in again} == identities
    assert "dep1" in (await get(again[0].address)).text


async def test_crashed_replica_is_restarted(harness: Harness) -> None:
    await harness.runtime.apply(harness.spec("svc-a", "dep1"))
    [replica] = await running(harness.runtime, "svc-a", "dep1", 1)
    await harness.crash(replica.replica_id)

    def restarted(replicas: list[Replica]) -> bool:
        return len(replicas) == 1 and replicas[0].restarts == 1 and replicas[0].state == "running"

    [after] = await eventually(lambda: harness.runtime.observe("svc-a"), restarted)
    assert after.replica_id == replica.replica_id
    assert after.last_exit_code is not None and after.last_exit_code != 0
    assert (await get(after.address)).status_code == 200


async def test_remove_forgets_the_service(harness: Harness) -> None:
    await harness.runtime.apply(harness.spec("svc-a", "one", replicas=1))
    await harness.runtime.apply(harness.spec("svc-a", "two", replicas=1))
    await harness.runtime.apply(harness.spec("svc-b", "three", replicas=1))
    await running(harness.runtime, "svc-a", "two", 1)
    await harness.runtime.remove("svc-a")
    assert await harness.runtime.observe("svc-a") == []
    assert await harness.runtime.list_services() == ["svc-b"]


async def test_list_services_lists_running_services(harness: Harness) -> None:
    assert await harness.runtime.list_services() == []
    await harness.runtime.apply(harness.spec("svc-b", "dep1"))
    await harness.runtime.apply(harness.spec("svc-a", "dep2"))
    assert await harness.runtime.list_services() == ["svc-a", "svc-b"]


async def test_observe_reports_labels_and_generation(harness: Harness) -> None:
    await harness.runtime.apply(harness.spec("svc-a", "dep1"))
    [replica] = await running(harness.runtime, "svc-a", "dep1", 1)
    assert dict(replica.labels) == labels("dep1").as_dict()
    assert replica.generation == 1
    assert replica.service_key == "svc-a"
    assert replica.started_at is not None


async def test_worker_without_port_runs_without_address(harness: Harness) -> None:
    spec = harness.spec("svc-w", "dep1", port=None, command=harness.worker_command())
    await harness.runtime.apply(spec)
    [replica] = await running(harness.runtime, "svc-w", "dep1", 1)
    assert replica.address is None
    assert replica.state == ReplicaState.RUNNING


async def test_empty_command_is_a_permanent_error(harness: Harness) -> None:
    spec = harness.spec("svc-a", "dep1", command=("",))
    with pytest.raises(PermanentRuntimeError):
        await harness.runtime.apply(spec)
    assert await harness.runtime.observe("svc-a") == []
