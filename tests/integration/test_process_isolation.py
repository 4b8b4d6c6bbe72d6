"""Tenant isolation of the process runtime, with real system users (needs root).

Checks, for two teams' replicas started by one root control plane:
* each app runs as its team's system user (``/proc/<pid>/status`` Uid and Gid), no extra groups;
* it cannot read a root-only 0600 file (standing for the master key / the database);
* it cannot read the other team's release directory (0750 root:<other team's group)
  but can read its own;
* it cannot read the runtime's log or state files (its own or the other team's).

Skipped when not root on a developer machine; fails when not root in CI (``CI`` set), because
CI must exercise isolation.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from kubidu.runtimes.base import Labels, ReplicaState, WorkloadSpec
from kubidu.runtimes.process import ProcessRuntime
from kubidu.security.sysusers import ensure_system_user

pytestmark = pytest.mark.anyio

SYSTEM_PYTHON = "/usr/bin/python3"  # the venv's interpreter lives under /root (0700)
TEAMS = {"a": "kubidu-it-team-a", "b": "kubidu-it-team-b"}

PROBE_APP = """
import os
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlparse

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        url = urlparse(self.path)
        try:
            with open(parse_qs(url.query)["path"][0], "rb") as handle:
                handle.read(1)
            body = "readable"
        except PermissionError:
            body = "denied"
        except OSError as exc:
            body = f"error {exc.errno}"
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def root_required() -> None:
    if os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("isolation tests must run as root in CI")
        pytest.skip("isolation tests need root")
    if not Path(SYSTEM_PYTHON).exists():
        pytest.fail(f"{SYSTEM_PYTHON} is needed to run apps as unprivileged users")


@pytest.fixture
def base(root_required: None) -> Iterator[Path]:
    # Not tmp_path: pytest's tmp dirs are 0700 root, which the team users could not traverse.
    path = Path(tempfile.mkdtemp(prefix="kubidu-isolation-"))
    path.chmod(0o755)
    yield path
    _kill_under(path)
    shutil.rmtree(path, ignore_errors=True)


def _kill_under(path: Path) -> None:
    for proc in psutil.process_iter(["cmdline", "cwd"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if str(path) in cmdline or str(proc.info["cwd"] or "").startswith(str(path)):
            proc.kill()


def _release(base: Path, team: str) -> Path:
    _, gid = ensure_system_user(TEAMS[team])
    release = base / f"release-{team}"
    release.mkdir()
    (release / "app.py").write_text(PROBE_APP)
    for path in (release, release / "app.py"):
        os.chown(path, 0, gid)
    release.chmod(0o750)
    (release / "app.py").chmod(0o640)
    return release


def _spec(team: str, release: Path) -> WorkloadSpec:
    return WorkloadSpec(
        service_key=f"svc-{team}",
        deployment_id=f"dep-{team}",
        generation=1,
        artifact=str(release),
        command=(SYSTEM_PYTHON, "app.py"),
        labels=Labels(TEAMS[team], "p", "production", "web", f"dep-{team}", 1),
        run_as=TEAMS[team],
    )


@pytest.fixture
async def runtime(base: Path, anyio_backend: str) -> AsyncIterator[ProcessRuntime]:
    runtime = ProcessRuntime(state_dir=base / "state", log_dir=base / "logs", isolation=True)
    try:
        yield runtime
    finally:
        for team in TEAMS:
            await runtime.remove(f"svc-{team}")


async def _start(runtime: ProcessRuntime, spec: WorkloadSpec) -> tuple[str, int]:
    """Apply and wait until RUNNING; return (address, app pid)."""
    await runtime.apply(spec)
    for _ in range(200):
        replicas = await runtime.observe(spec.service_key)
        if replicas and replicas[0].state == ReplicaState.RUNNING and replicas[0].address:
            _, app_pid = runtime.pids(spec.service_key)[replicas[0].replica_id]
            assert app_pid is not None
            return replicas[0].address, app_pid
        await asyncio.sleep(0.05)
    raise AssertionError(f"{spec.service_key} never ran: {replicas}")


async def _can_read(address: str, path: Path) -> str:
    async with httpx.AsyncClient(trust_env=False, timeout=5.0) as client:
        return (await client.get(f"http://{address}/", params={"path": str(path)})).text


def _ids(pid: int, field: str) -> list[str]:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return line.split()[1:]
    raise AssertionError(f"no {field} in /proc/{pid}/status")


async def test_teams_are_isolated_from_the_platform_and_each_other(
    base: Path, runtime: ProcessRuntime
) -> None:
    secret = base / "master.key"
    secret.write_text("master key and database")
    secret.chmod(0o600)
    releases = {team: _release(base, team) for team in TEAMS}
    started = {team: await _start(runtime, _spec(team, releases[team])) for team in TEAMS}

    for team, (address, pid) in started.items():
        uid, gid = ensure_system_user(TEAMS[team])
        assert _ids(pid, "Uid") == [str(uid)] * 4
        assert _ids(pid, "Gid") == [str(gid)] * 4
        assert _ids(pid, "Groups") == []
        other = "b" if team == "a" else "a"
        assert await _can_read(address, releases[team] / "app.py") == "readable"
        assert await _can_read(address, releases[other] / "app.py") == "denied"
        assert await _can_read(address, secret) == "denied"
        for log in (base / "logs").glob("*/*.log"):
            assert await _can_read(address, log) == "denied"
        for state in (base / "state").glob("*/*.json"):
            assert await _can_read(address, state) == "denied"
    assert len(list((base / "logs").glob("*/*.log"))) == 2
