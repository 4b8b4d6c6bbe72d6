"""The docker runtime against a real dockerd, beyond the shared conformance suite.

Checks:
* private networking: a service reaches another of its environment by service name; a
  container of another team cannot reach it, not even by IP;
* limits: CPU and memory limits are set on the container by the Engine, changed live by a
  later apply, and an app over its memory limit is reported OOM-killed;
* security: no privileged mode, no host network, no mounts, capabilities dropped,
  no-new-privileges, and no Docker socket inside the container;
* a pre-built image that does not exist is a permanent error naming it;
* the image builder's ``discard`` untags an image it built, and leaves any other image alone.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from kubidu.builds.docker_image import IMAGE_REPOSITORY, DockerImageBuilder
from kubidu.builds.dockerfiles import BaseImages as BuildBases
from kubidu.runtimes.base import (
    Labels,
    PermanentRuntimeError,
    ReplicaState,
    WorkloadSpec,
)
from kubidu.runtimes.docker import DockerRuntime
from kubidu.runtimes.docker import labels as lbl
from tests.contract.runtime_harness import echo_image, eventually, running
from tests.helpers import docker as docker_helpers
from tests.helpers.docker import BaseImages

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def runtime(docker_engine: BaseImages, tmp_path: Path) -> AsyncIterator[DockerRuntime]:
    instance = f"test-{secrets.token_hex(4)}"
    built = DockerRuntime(api=docker_helpers.client(), log_dir=tmp_path / "logs", instance=instance)
    try:
        yield built
    finally:
        api = built.api
        for found in api.containers(all=True, filters=lbl.owned(instance)):
            api.remove_container(found["Id"], force=True)
        for network in api.networks(filters=lbl.owned(instance)):
            api.remove_network(network["Id"])


def _spec(
    service: str, *, team: str = "team-a", deployment: str = "dep1", **extra: object
) -> WorkloadSpec:
    spec = WorkloadSpec(
        service_key=f"{team}-{service}",
        deployment_id=deployment,
        generation=1,
        artifact=echo_image(),
        command=("python3", "echo.py"),
        labels=Labels(team, "shop", "production", service, deployment, 1),
        env={"DEPLOYMENT": deployment, "HOST": "0.0.0.0"},
    )
    return replace(spec, **extra)  # type: ignore[arg-type]


def _fetch(url: str) -> tuple[str, ...]:
    code = (
        "import sys, urllib.request\n"
        "try:\n"
        f"    print(urllib.request.urlopen({url!r}, timeout=3).read().decode())\n"
        "except Exception as exc:\n"
        "    print('unreachable', type(exc).__name__); sys.exit(7)\n"
    )
    return ("python3", "-c", code)


async def test_services_reach_each_other_by_name_but_not_across_teams(
    runtime: DockerRuntime,
) -> None:
    api_spec = _spec("api")
    await runtime.apply(api_spec)
    [replica] = await running(runtime, api_spec.service_key, "dep1", 1)
    assert replica.address is not None

    same_env = await runtime.run_oneoff(_spec("web", command=_fetch("http://api:8000/")))
    assert same_env.exit_code == 0, same_env.output
    assert "dep1 8000" in same_env.output

    by_ip = f"http://{replica.address}/"
    other_team = await runtime.run_oneoff(_spec("web", team="team-b", command=_fetch(by_ip)))
    assert other_team.exit_code == 7, other_team.output
    assert "unreachable" in other_team.output
    by_name = await runtime.run_oneoff(
        _spec("web", team="team-b", command=_fetch("http://api:8000/"))
    )
    assert by_name.exit_code == 7, by_name.output


async def test_limits_are_enforced_and_changed_live(runtime: DockerRuntime) -> None:
    spec = _spec("web", cpu_limit=0.5, memory_limit_mb=64)
    await runtime.apply(spec)
    [replica] = await running(runtime, spec.service_key, "dep1", 1)
    [found] = runtime.api.containers(filters={"label": f"{lbl.REPLICA}={replica.replica_id}"})
    host = runtime.api.inspect_container(found["Id"])["HostConfig"]
    assert (host["CpuQuota"], host["CpuPeriod"]) == (50_000, 100_000)
    assert (host["Memory"], host["MemorySwap"]) == (64 << 20, 64 << 20)

    await runtime.apply(replace(spec, cpu_limit=1.5, memory_limit_mb=128))
    host = runtime.api.inspect_container(found["Id"])["HostConfig"]
    assert (host["CpuQuota"], host["Memory"]) == (150_000, 128 << 20)
    [same] = await running(runtime, spec.service_key, "dep1", 1)
    assert same.replica_id == replica.replica_id  # updated in place, not replaced
    [stats] = await runtime.stats(spec.service_key)
    assert 1_000_000 < stats.memory_bytes < 128 << 20


async def test_a_replica_over_its_memory_limit_is_reported_oom_killed(
    runtime: DockerRuntime,
) -> None:
    hog = ("python3", "-c", "import time; blocks = [bytearray(8 << 20) for _ in range(64)]")
    spec = _spec("hog", command=hog, port=None, memory_limit_mb=32)
    await runtime.apply(spec)
    replicas = await eventually(
        lambda: runtime.observe(spec.service_key),
        lambda rs: any(r.state == ReplicaState.OOM_KILLED for r in rs),
        timeout=30,
    )
    assert replicas[0].last_exit_code == -9


async def test_containers_are_locked_down(runtime: DockerRuntime) -> None:
    spec = _spec("web")
    await runtime.apply(spec)
    [replica] = await running(runtime, spec.service_key, "dep1", 1)
    [found] = runtime.api.containers(filters={"label": f"{lbl.REPLICA}={replica.replica_id}"})
    info = runtime.api.inspect_container(found["Id"])
    host = info["HostConfig"]
    assert host["Privileged"] is False
    assert host["NetworkMode"] not in ("host", "default", "bridge")
    assert host["CapDrop"] == ["ALL"]
    assert set(host["CapAdd"]) <= {"NET_BIND_SERVICE", "SETUID", "SETGID"}
    assert "no-new-privileges" in host["SecurityOpt"]
    assert not host.get("Binds") and not info["Mounts"]
    assert host["PidMode"] == "" and host["IpcMode"] in ("private", "shareable")
    probe = await runtime.run_oneoff(
        _spec(
            "web",
            command=("python3", "-c", "import os; print(os.path.exists('/var/run/docker.sock'))"),
        )
    )
    assert probe.output.strip() == "False"


async def test_missing_image_is_permanent_and_named(runtime: DockerRuntime) -> None:
    spec = _spec("web", artifact="kubidu-test/no-such-image:1")
    with pytest.raises(PermanentRuntimeError, match="no-such-image"):
        await runtime.apply(spec)
    assert await runtime.observe(spec.service_key) == []


def test_discard_removes_only_images_the_builder_made(
    docker_engine: BaseImages, tmp_path: Path
) -> None:
    api = docker_helpers.client()
    suffix = secrets.token_hex(4)
    built, foreign = f"{IMAGE_REPOSITORY}/team-a:dep-{suffix}", f"kubidu-test/kept:{suffix}"
    for tag in (built, foreign):
        docker_helpers.build_image(
            api, tag=tag, dockerfile=f"FROM {docker_engine.busybox}\nLABEL t={tag}\n", files={}
        )
    builder = DockerImageBuilder(
        api=api,
        bases=BuildBases(python=docker_engine.python, node=docker_engine.python),
        releases_dir=tmp_path / "releases",
        cache_dir=tmp_path / "cache",
        work_dir=tmp_path / "work",
        max_bytes=1 << 20,
        max_files=100,
    )
    try:
        builder.discard(built)
        builder.discard(foreign)
        builder.discard(built)  # already gone: nothing to do, no error
        tags = {t for image in api.images() for t in image.get("RepoTags") or []}
        assert built not in tags and foreign in tags
    finally:
        api.remove_image(foreign, force=True)
