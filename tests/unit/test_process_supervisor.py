"""Real-process tests of the supervisor and of the runtime's recovery from dead supervisors.

Checks:
* a crashing app is restarted with doubling delays; state, exit code and the system lines
  ("exited with code 1; restarting in 0.1s") are published; stdout/stderr are captured;
* SIGTERM to the supervisor stops the app and removes the replica's state, plan and HOME;
* when a supervisor is killed -9, observe() forgets the replica and kills the orphaned app;
* the runtime's directories and logs are root-only; unsafe keys are refused.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from kubidu.runtimes.base import Labels, PermanentRuntimeError, WorkloadSpec
from kubidu.runtimes.process import ProcessRuntime
from kubidu.runtimes.process.files import read_json, write_json
from kubidu.runtimes.process.plan import Backoff, ReplicaPlan

CRASHER = "import sys; print('boom', flush=True); print('bad', file=sys.stderr); sys.exit(1)"
SLEEPER = "import time; print('up', flush=True); time.sleep(60)"


@pytest.fixture
def root(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    for proc in psutil.process_iter(["cmdline", "cwd"]):  # no orphans, whatever happened
        if str(tmp_path) in " ".join(proc.info["cmdline"] or []) or str(
            proc.info["cwd"] or ""
        ).startswith(str(tmp_path)):
            proc.kill()


def _wait(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)
    return result


def _plan(root: Path, code: str) -> ReplicaPlan:
    return ReplicaPlan(
        replica_id="r1", service_key="svc", deployment_id="d1", generation=1, labels={},
        artifact=str(root), command=[sys.executable, "-c", code], env={}, port=None,
        uid=None, gid=None, spec_file=str(root / "r1.spec.json"),
        state_file=str(root / "r1.state.json"), log_file=str(root / "r1.log"),
        stop_file=str(root / "r1.stop.json"), backoff=Backoff(initial=0.1, maximum=0.4),
    )  # fmt: skip


def _start_supervisor(plan: ReplicaPlan) -> dict[str, Any]:
    write_json(Path(plan.spec_file), plan.to_json())
    argv = [sys.executable, "-m", "kubidu.runtimes.process.supervisor", plan.spec_file]
    assert subprocess.run(argv, check=False, timeout=10).returncode == 0
    return dict(_wait(lambda: read_json(Path(plan.state_file))))


def _system_lines(plan: ReplicaPlan) -> list[str]:
    records = [json.loads(line) for line in Path(plan.log_file).read_text().splitlines()]
    return [f"{r['stream']}: {r['line']}" for r in records]


def test_crashing_app_is_restarted_with_backoff(root: Path) -> None:
    plan = _plan(root, CRASHER)
    state = _start_supervisor(plan)
    state = _wait(lambda: (s := read_json(Path(plan.state_file))) and s["restarts"] >= 3 and s)
    assert state["last_exit_code"] == 1
    lines = _system_lines(plan)
    assert "stdout: boom" in lines and "stderr: bad" in lines
    delays = [line for line in lines if "restarting in" in line][:3]
    assert delays == [
        f"system: exited with code 1; restarting in {d}s" for d in ("0.1", "0.2", "0.4")
    ]
    os.kill(state["supervisor_pid"], signal.SIGTERM)
    _wait(lambda: not Path(plan.state_file).exists() and not Path(plan.spec_file).exists())
    assert not Path(state["home"]).exists()


def test_sigterm_stops_the_app_and_cleans_up(root: Path) -> None:
    plan = _plan(root, SLEEPER)
    _start_supervisor(plan)
    state = _wait(lambda: (s := read_json(Path(plan.state_file))) and s["child_pid"] and s)
    assert Path(state["home"]).is_dir()
    os.kill(state["supervisor_pid"], signal.SIGTERM)
    _wait(lambda: not Path(plan.state_file).exists())
    _wait(lambda: not psutil.pid_exists(state["child_pid"]))
    assert _system_lines(plan)[-1] == "system: stopped"
    assert not Path(state["home"]).exists()


def _spec(root: Path, service_key: str = "svc") -> WorkloadSpec:
    return WorkloadSpec(
        service_key=service_key,
        deployment_id="d1",
        generation=1,
        artifact=str(root),
        command=(sys.executable, "-c", SLEEPER),
        labels=Labels("t", "p", "e", "s", "d1", 1),
        port=None,
    )


def test_dead_supervisor_is_forgotten_and_its_app_killed(root: Path) -> None:
    runtime = ProcessRuntime(state_dir=root / "state", log_dir=root / "logs", isolation=False)
    asyncio.run(runtime.apply(_spec(root)))
    [(supervisor_pid, app_pid)] = _wait(
        lambda: [pids for pids in runtime.pids("svc").values() if pids[1]]
    )
    os.kill(supervisor_pid, signal.SIGKILL)
    _wait(lambda: not psutil.pid_exists(supervisor_pid) or _zombie(supervisor_pid))
    assert asyncio.run(runtime.observe("svc")) == []
    assert app_pid is not None
    _wait(lambda: not psutil.pid_exists(app_pid) or _zombie(app_pid))
    assert list((root / "state" / "svc").glob("*.json")) == []


def _zombie(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.Error:
        return True


def test_runtime_files_are_root_only(root: Path) -> None:
    runtime = ProcessRuntime(state_dir=root / "state", log_dir=root / "logs", isolation=False)
    asyncio.run(runtime.apply(_spec(root)))
    try:
        [log] = list((root / "logs" / "svc").glob("*.log"))
        for directory in (root / "state", root / "logs", root / "state" / "svc", log.parent):
            assert directory.stat().st_mode & 0o777 == 0o700
        for path in [log, *(root / "state" / "svc").glob("*.json")]:
            assert path.stat().st_mode & 0o777 == 0o600
    finally:
        asyncio.run(runtime.remove("svc"))


@pytest.mark.parametrize("key", ["../etc", "a/b", "", ".hidden", "x" * 200])
def test_unsafe_keys_are_refused(root: Path, key: str) -> None:
    runtime = ProcessRuntime(state_dir=root / "state", log_dir=root / "logs", isolation=False)
    with pytest.raises(PermanentRuntimeError):
        asyncio.run(runtime.apply(_spec(root, service_key=key)))
    with pytest.raises(PermanentRuntimeError):
        asyncio.run(runtime.observe(key))
