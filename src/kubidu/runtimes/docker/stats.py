"""CPU and memory of one container from the Engine's stats API, as the contract's figures.

Used by :meth:`DockerRuntime.stats`. A non-streaming stats call returns two samples about a
second apart (``precpu_stats`` and ``cpu_stats``); CPU is their delta as a percentage of one CPU
(200 % = two busy CPUs, like ``docker stats``). Memory excludes the page cache, as the kernel
would reclaim it before an OOM (cgroup v1 ``cache``, cgroup v2 ``inactive_file``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubidu.runtimes.base import ReplicaStats


def to_stats(replica_id: str, raw: Mapping[str, Any]) -> ReplicaStats:
    return ReplicaStats(
        replica_id=replica_id, cpu_percent=cpu_percent(raw), memory_bytes=memory_bytes(raw)
    )


def cpu_percent(raw: Mapping[str, Any]) -> float:
    now, before = raw.get("cpu_stats") or {}, raw.get("precpu_stats") or {}
    used = _total(now) - _total(before)
    system = int(now.get("system_cpu_usage") or 0) - int(before.get("system_cpu_usage") or 0)
    cpus = int(now.get("online_cpus") or 1)
    if used <= 0 or system <= 0:
        return 0.0
    return round(used / system * cpus * 100.0, 2)


def _total(sample: Mapping[str, Any]) -> int:
    return int((sample.get("cpu_usage") or {}).get("total_usage") or 0)


def memory_bytes(raw: Mapping[str, Any]) -> int:
    memory = raw.get("memory_stats") or {}
    detail = memory.get("stats") or {}
    cache = detail.get("total_inactive_file", detail.get("inactive_file", detail.get("cache", 0)))
    return max(0, int(memory.get("usage") or 0) - int(cache or 0))
