"""On-disk layout shared by :class:`ProcessRuntime` and its supervisors, and safe file writes.

Stdlib only: the supervisor imports it. Layout, per service::

    <state_dir>/<service_key>/<replica_id>.spec.json   the plan: runtime → supervisor
    <state_dir>/<service_key>/<replica_id>.state.json  what the supervisor sees → observe()
    <state_dir>/<service_key>/<replica_id>.stop.json   stop request (grace period) → supervisor
    <log_dir>/<service_key>/<replica_id>.log           JSON lines of the app's output

Everything is root-only (files 0600, directories 0700): apps run as other users and must not
read each other's output or state. Writes go through a temporary file and ``os.replace`` so a
reader never sees half a JSON document.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SPEC_SUFFIX = ".spec.json"
STATE_SUFFIX = ".state.json"
STOP_SUFFIX = ".stop.json"
LOG_SUFFIX = ".log"


@dataclass(frozen=True)
class ReplicaFiles:
    """The files of one replica."""

    spec: Path
    state: Path
    stop: Path
    log: Path

    @classmethod
    def of(
        cls, *, state_dir: Path, log_dir: Path, service_key: str, replica_id: str
    ) -> ReplicaFiles:
        base = state_dir / service_key
        return cls(
            spec=base / f"{replica_id}{SPEC_SUFFIX}",
            state=base / f"{replica_id}{STATE_SUFFIX}",
            stop=base / f"{replica_id}{STOP_SUFFIX}",
            log=log_dir / service_key / f"{replica_id}{LOG_SUFFIX}",
        )

    def remove_control_files(self) -> None:
        """Forget the replica (its log stays: logs outlive replicas)."""
        for path in (self.state, self.spec, self.stop):
            path.unlink(missing_ok=True)


def private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) and make it 0700 whatever the umask."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Atomically replace ``path`` with ``data`` as JSON, mode 0600."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
    tmp.replace(path)


def read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path``, or None when it is missing or unreadable."""
    try:
        with path.open(encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def process_create_time(pid: int) -> float | None:
    """Start time of ``pid`` in seconds since the epoch, computed the way psutil does on Linux.

    Recorded next to every pid so a reader can tell the process from a later one that reused
    the pid (psutil's ``create_time`` is compared with a tolerance of a second).
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = Path("/proc/stat").read_text()
    except OSError:
        return None
    ticks = float(stat.rsplit(")", 1)[1].split()[19])  # field 22: starttime, in clock ticks
    btime = next(float(line.split()[1]) for line in boot.splitlines() if line.startswith("btime"))
    return ticks / os.sysconf("SC_CLK_TCK") + btime
