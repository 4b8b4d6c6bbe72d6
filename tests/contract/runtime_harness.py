"""Harnesses of the runtime conformance suite: one per runtime, the same face to the tests.

A harness knows what only its runtime can know: how to build a runnable spec for the test app
(a release directory for ``process``, an image for ``docker``), how to build a
"restarted control plane" over the same state, how to crash a replica from outside, and how to
leave no process behind. To add a runtime, write a harness and register it in ``HARNESSES``.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
import shutil
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import psutil

from kubidu.runtimes.base import Labels, Replica, ReplicaState, Runtime, WorkloadSpec
from kubidu.runtimes.docker import DockerRuntime
from kubidu.runtimes.docker import labels as docker_labels
from kubidu.runtimes.fake import FakeRuntime
from kubidu.runtimes.process import ProcessRuntime
from tests.helpers import docker as docker_helpers

ECHO_APP = Path(__file__).parent / "apps" / "echo.py"


def labels(deployment_id: str, generation: int = 1) -> Labels:
    return Labels("team-a", "shop", "production", "web", deployment_id, generation)


@dataclass
class Harness:
    """Base: a runtime under test plus the runtime-specific knowledge the tests need."""

    name: str
    runtime: Runtime
    runs_commands: bool  # can run arbitrary argv (run_oneoff, $PORT expansion...)
    services: set[str] = field(default_factory=set)

    def spec(
        self,
        service_key: str,
        deployment_id: str,
        *,
        replicas: int = 1,
        env: Mapping[str, str] | None = None,
        command: tuple[str, ...] | None = None,
        port: int | None = 8000,
    ) -> WorkloadSpec:
        self.services.add(service_key)
        return WorkloadSpec(
            service_key=service_key,
            deployment_id=deployment_id,
            generation=1,
            artifact=self.artifact(),
            command=command or self.app_command(),
            labels=labels(deployment_id),
            env={"DEPLOYMENT": deployment_id, **self.base_env(), **(env or {})},
            replicas=replicas,
            port=port,
        )

    def artifact(self) -> str:
        return "/nonexistent"

    def base_env(self) -> dict[str, str]:
        return {}

    def python(self) -> str:
        """The interpreter path as the runtime's replicas see it."""
        return sys.executable

    def app_command(self) -> tuple[str, ...]:
        return ("echo-app",)

    def worker_command(self) -> tuple[str, ...]:
        return ("worker",)

    def restarted(self) -> Runtime:
        raise NotImplementedError

    async def crash(self, replica_id: str) -> None:
        raise NotImplementedError

    def identity(self, service_key: str, replica_id: str) -> object:
        raise NotImplementedError

    async def close(self) -> None:
        for service_key in self.services:
            await self.runtime.remove(service_key)


class FakeHarness(Harness):
    def __init__(self, tmp_path: Path) -> None:
        super().__init__(name="fake", runtime=FakeRuntime(), runs_commands=False)
        self.fake = self.runtime if isinstance(self.runtime, FakeRuntime) else FakeRuntime()

    def restarted(self) -> Runtime:
        return FakeRuntime(world=self.fake.world)

    async def crash(self, replica_id: str) -> None:
        await self.fake.crash(replica_id)

    def identity(self, service_key: str, replica_id: str) -> object:
        return id(self.fake.world.replicas[service_key][replica_id])

    async def close(self) -> None:
        await self.fake.close()


class ProcessHarness(Harness):
    def __init__(self, tmp_path: Path) -> None:
        self.root = tmp_path
        self.release = tmp_path / "release"
        self.release.mkdir()
        shutil.copy(ECHO_APP, self.release / "echo.py")
        super().__init__(name="process", runtime=self._new_runtime(), runs_commands=True)

    def _new_runtime(self) -> ProcessRuntime:
        return build_runtime("process", self.root, "")

    def artifact(self) -> str:
        return str(self.release)

    def app_command(self) -> tuple[str, ...]:
        return (sys.executable, "echo.py")

    def worker_command(self) -> tuple[str, ...]:
        return (sys.executable, "-c", "import time; print('working', flush=True); time.sleep(60)")

    def restarted(self) -> Runtime:
        return self._new_runtime()

    def pids(self, service_key: str) -> dict[str, tuple[int, int | None]]:
        assert isinstance(self.runtime, ProcessRuntime)
        return self.runtime.pids(service_key)

    async def crash(self, replica_id: str) -> None:
        for service_key in self.services:
            _, app_pid = self.pids(service_key).get(replica_id, (0, None))
            if app_pid:
                os.kill(app_pid, signal.SIGKILL)
                return
        raise KeyError(replica_id)

    def identity(self, service_key: str, replica_id: str) -> object:
        return self.pids(service_key)[replica_id]

    async def close(self) -> None:
        await super().close()
        kill_leftovers(self.root)


def kill_leftovers(root: Path) -> list[int]:
    """SIGKILL every supervisor and app started under ``root``; return their pids (should be [])."""
    killed = []
    for proc in psutil.process_iter(["pid", "cmdline", "cwd"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        mine = str(root) in cmdline or str(proc.info["cwd"] or "").startswith(str(root))
        if mine and proc.pid != os.getpid():
            killed.append(proc.pid)
            proc.kill()
    return killed


class DockerHarness(Harness):
    """Replicas are containers of the echo app's image (built once on the local Python base)."""

    def __init__(self, tmp_path: Path) -> None:
        self.root = tmp_path
        self.instance = f"test-{secrets.token_hex(4)}"  # this test's containers only
        self.image = echo_image()
        self.api = docker_helpers.client()
        super().__init__(name="docker", runtime=self._new_runtime(), runs_commands=True)

    def _new_runtime(self) -> DockerRuntime:
        return build_runtime("docker", self.root, self.instance)

    def artifact(self) -> str:
        return self.image

    def base_env(self) -> dict[str, str]:
        return {"HOST": "0.0.0.0"}  # the edge reaches a container from outside it

    def python(self) -> str:
        return "python3"

    def app_command(self) -> tuple[str, ...]:
        return ("python3", "echo.py")

    def worker_command(self) -> tuple[str, ...]:
        return ("python3", "-c", "import time; print('working', flush=True); time.sleep(60)")

    def restarted(self) -> Runtime:
        return self._new_runtime()

    def _container(self, replica_id: str) -> dict[str, object]:
        label = f"{docker_labels.REPLICA}={replica_id}"
        [found] = self.api.containers(filters={"label": label})
        info: dict[str, object] = self.api.inspect_container(found["Id"])
        return info

    async def crash(self, replica_id: str) -> None:
        """SIGKILL the container's init from the host, as the kernel's OOM killer would."""
        state = self._container(replica_id)["State"]
        assert isinstance(state, dict)
        os.kill(int(state["Pid"]), signal.SIGKILL)

    def identity(self, service_key: str, replica_id: str) -> object:
        return self._container(replica_id)["Id"]

    async def close(self) -> None:
        await super().close()
        leftovers = docker_labels.owned(self.instance)
        for found in self.api.containers(all=True, filters=leftovers):
            self.api.remove_container(found["Id"], force=True)
        for network in self.api.networks(filters=leftovers):
            self.api.remove_network(network["Id"])


def echo_image() -> str:
    """The echo app on the local Python base image; tagged by content, built once."""
    images = docker_helpers.base_images()
    source = ECHO_APP.read_bytes()
    tag = "kubidu-test/echo:" + hashlib.sha256(source + images.python.encode()).hexdigest()[:12]
    dockerfile = f"FROM {images.python}\nWORKDIR /app\nCOPY echo.py /app/echo.py\n"
    api = docker_helpers.client()
    if not api.images(name=tag):
        docker_helpers.build_image(api, tag=tag, dockerfile=dockerfile, files={"echo.py": source})
    return tag


def build_runtime(name: str, root: Path, instance: str) -> Any:
    """A runtime over the state under ``root``; also used by a control plane in a subprocess."""
    if name == "process":
        return ProcessRuntime(state_dir=root / "state", log_dir=root / "logs", isolation=False)
    return DockerRuntime(api=docker_helpers.client(), log_dir=root / "logs", instance=instance)


T = TypeVar("T")

HARNESSES: dict[str, Callable[[Path], Harness]] = {
    "fake": FakeHarness,
    "process": ProcessHarness,
    "docker": DockerHarness,
}
# Runtimes whose harness executes real argv; ``test_runtime_commands.py`` runs only on these.
COMMAND_RUNTIMES = [name for name in HARNESSES if name != "fake"]


async def eventually(
    probe: Callable[[], Awaitable[T]], done: Callable[[T], bool], *, timeout: float = 10.0
) -> T:
    """Poll ``probe`` until ``done(result)``; fail with the last result after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if done(result):
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not reached in {timeout}s; last: {result!r}")
        await asyncio.sleep(0.05)


async def running(
    runtime: Runtime, service_key: str, deployment_id: str, count: int
) -> list[Replica]:
    """Wait until exactly ``count`` replicas of the deployment are RUNNING; return them."""

    async def probe() -> list[Replica]:
        return [r for r in await runtime.observe(service_key) if r.deployment_id == deployment_id]

    def done(replicas: list[Replica]) -> bool:
        return len(replicas) == count and all(r.state == ReplicaState.RUNNING for r in replicas)

    return await eventually(probe, done)


async def get(address: str | None, path: str = "/") -> httpx.Response:
    assert address is not None
    async with httpx.AsyncClient(trust_env=False, timeout=5.0) as client:
        return await client.get(f"http://{address}{path}")
