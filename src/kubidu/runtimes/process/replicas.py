"""The runtime's side of a replica: start its supervisor, read its state, stop it, clean up.

Used by :class:`ProcessRuntime` only. The state files are the truth, checked against the
process table: a record counts only while its supervisor is alive *and* is the same process
(pid plus psutil ``create_time``, and the supervisor module in its command line), so a pid
reused by an unrelated process is never mistaken for a replica. Records of dead supervisors are
discarded, killing any app they orphaned.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil

import kubidu
from kubidu.runtimes.base import Replica, ReplicaState, TemporaryRuntimeError
from kubidu.runtimes.process.files import (
    SPEC_SUFFIX,
    STATE_SUFFIX,
    ReplicaFiles,
    read_json,
    write_json,
)
from kubidu.runtimes.process.launch import DEFAULT_PATH
from kubidu.runtimes.process.plan import ReplicaPlan

SUPERVISOR_MODULE = "kubidu.runtimes.process.supervisor"
START_TIMEOUT_S = 15.0
STALE_SPEC_S = 60.0  # a plan with no supervisor state after this long was never started


@dataclass(frozen=True)
class Record:
    """One replica's state file as the supervisor last wrote it."""

    files: ReplicaFiles
    data: dict[str, Any]

    @property
    def replica_id(self) -> str:
        return str(self.data["replica_id"])

    @property
    def deployment_id(self) -> str:
        return str(self.data["deployment_id"])

    @property
    def supervisor_pid(self) -> int:
        return int(self.data["supervisor_pid"])

    @property
    def child_pid(self) -> int | None:
        pid = self.data.get("child_pid")
        return int(pid) if pid else None

    @property
    def port(self) -> int | None:
        port = self.data.get("port")
        return int(port) if port else None


def load_records(*, state_dir: Path, log_dir: Path, service_key: str) -> list[Record]:
    records = []
    for path in sorted((state_dir / service_key).glob(f"*{STATE_SUFFIX}")):
        data = read_json(path)
        if data is None or "supervisor_pid" not in data:
            continue
        replica_id = path.name.removesuffix(STATE_SUFFIX)
        files = ReplicaFiles.of(
            state_dir=state_dir, log_dir=log_dir, service_key=service_key, replica_id=replica_id
        )
        records.append(Record(files=files, data=data))
    return records


def same_process(pid: int | None, create_time: Any, *, marker: str | None = None) -> bool:
    """True when ``pid`` is alive, not a zombie, started at ``create_time`` (±1 s)."""
    if not pid or not isinstance(create_time, int | float):
        return False
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE or abs(proc.create_time() - create_time) > 1.0:
            return False
        return marker is None or marker in proc.cmdline()
    except psutil.Error:
        return False


def supervisor_alive(record: Record) -> bool:
    created = record.data.get("supervisor_create_time")
    return same_process(record.supervisor_pid, created, marker=SUPERVISOR_MODULE)


def discard(record: Record) -> None:
    """Forget a replica whose supervisor is gone; kill the app it may have orphaned."""
    if same_process(record.child_pid, record.data.get("child_create_time")):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(record.child_pid or 0, signal.SIGKILL)
    record.files.remove_control_files()
    home = str(record.data.get("home") or "")
    if Path(home).is_absolute() and Path(home).name.startswith("kubidu-home-"):
        shutil.rmtree(home, ignore_errors=True)


def sweep_stale_plans(directory: Path) -> None:
    """Remove plans whose supervisor never started (the control plane died while launching)."""
    now = time.time()
    for spec in directory.glob(f"*{SPEC_SUFFIX}"):
        state = spec.with_name(spec.name.removesuffix(SPEC_SUFFIX) + STATE_SUFFIX)
        with contextlib.suppress(OSError):
            if not state.exists() and now - spec.stat().st_mtime > STALE_SPEC_S:
                spec.unlink()


def to_replica(record: Record) -> Replica:
    data = record.data
    started = data.get("started_at")
    return Replica(
        replica_id=record.replica_id,
        service_key=str(data["service_key"]),
        deployment_id=record.deployment_id,
        generation=int(data["generation"]),
        state=ReplicaState(data["state"]),
        address=f"127.0.0.1:{record.port}" if record.port else None,
        restarts=int(data.get("restarts", 0)),
        started_at=datetime.fromisoformat(started) if started else None,
        last_exit_code=data.get("last_exit_code"),
        labels=dict(data.get("labels", {})),
    )


async def launch(plan: ReplicaPlan, *, python: str) -> None:
    """Start the replica's supervisor and wait until it has published its first state."""
    write_json(Path(plan.spec_file), plan.to_json())
    proc = await asyncio.create_subprocess_exec(
        *[python, "-m", SUPERVISOR_MODULE, plan.spec_file],
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        start_new_session=True,  # out of the control plane's session: survives its death
        cwd="/",
        env=_supervisor_env(),  # never the control plane's env: it holds the master key
    )
    if await proc.wait() != 0:  # the launcher forks and exits at once
        Path(plan.spec_file).unlink(missing_ok=True)
        raise TemporaryRuntimeError(f"supervisor of {plan.replica_id} failed to start")
    await _wait_for_state(Path(plan.state_file), plan.replica_id)


async def _wait_for_state(state_file: Path, replica_id: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while not state_file.exists():
        if time.monotonic() > deadline:
            raise TemporaryRuntimeError(f"supervisor of {replica_id} did not report", retry_after=5)
        await asyncio.sleep(0.02)


def _supervisor_env() -> dict[str, str]:
    source_root = Path(kubidu.__file__).resolve().parent.parent
    return {"PATH": DEFAULT_PATH, "PYTHONPATH": str(source_root), "LANG": "C.UTF-8"}


async def terminate(record: Record, *, grace_s: float) -> None:
    """Ask the supervisor to stop its app within ``grace_s`` and wait until it is gone."""
    write_json(record.files.stop, {"grace_s": grace_s})
    with contextlib.suppress(ProcessLookupError):
        os.kill(record.supervisor_pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s + 10.0
    while supervisor_alive(record) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    if supervisor_alive(record):  # wedged: take it down the hard way
        with contextlib.suppress(ProcessLookupError):
            os.kill(record.supervisor_pid, signal.SIGKILL)
    discard(record)


def free_port(taken: set[int]) -> int:
    """A TCP port free on 127.0.0.1 now and not promised to another replica."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in taken:
            return port
    raise TemporaryRuntimeError("no free TCP port")
