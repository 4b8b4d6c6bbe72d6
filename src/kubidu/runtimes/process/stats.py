"""CPU and memory of running replicas, measured with psutil over a short window.

Used by :meth:`ProcessRuntime.stats` (in a worker thread: it sleeps). A replica's usage is
its app process plus every descendant, since apps often fork workers (gunicorn, uvicorn).
"""

from __future__ import annotations

import time

import psutil

from kubidu.runtimes.base import ReplicaStats
from kubidu.runtimes.process.replicas import Record

WINDOW_S = 0.2


def sample(records: list[Record]) -> list[ReplicaStats]:
    """One ReplicaStats per record whose app is running."""
    before = {r.replica_id: _cpu_seconds(r.child_pid) for r in records}
    time.sleep(WINDOW_S)
    result = []
    for record in records:
        cpu = _cpu_seconds(record.child_pid) - before[record.replica_id]
        result.append(
            ReplicaStats(
                replica_id=record.replica_id,
                cpu_percent=max(0.0, cpu) / WINDOW_S * 100.0,
                memory_bytes=sum(_rss(p) for p in _tree(record.child_pid)),
            )
        )
    return result


def _tree(pid: int | None) -> list[psutil.Process]:
    if not pid:
        return []
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def _cpu_seconds(pid: int | None) -> float:
    total = 0.0
    for proc in _tree(pid):
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            continue  # exited between listing and reading
    return total


def _rss(proc: psutil.Process) -> int:
    try:
        return int(proc.memory_info().rss)
    except psutil.Error:
        return 0
