"""How one container is made from a :class:`WorkloadSpec`, and read back as a :class:`Replica`.

Used by :class:`~kubidu.runtimes.docker.runtime.DockerRuntime`. The security posture is fixed
here and nowhere else: never privileged, never the host's network, PID or IPC namespace, no
bind mounts at all (so neither host paths nor the Docker socket can reach an app), every
capability dropped but the few an image needs to bind low ports and drop root itself, and
``no-new-privileges``. Memory limits come without swap, so an OOM is an OOM.
"""

from __future__ import annotations

import math
import re
import signal
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from docker import APIClient

from kubidu.runtimes.base import PermanentRuntimeError, Replica, ReplicaState, WorkloadSpec
from kubidu.runtimes.docker import labels as lbl

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
KEPT_CAPABILITIES = ["NET_BIND_SERVICE", "SETUID", "SETGID"]
PIDS_LIMIT = 1024
CPU_PERIOD_US = 100_000
LOG_OPTIONS = {"max-size": "10m", "max-file": "3"}

# ``$NAME`` or ``${NAME}``, Procfile style; anything else (a lone ``$``) stays literal.
_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


def app_env(spec: WorkloadSpec) -> dict[str, str]:
    """The app's env: the spec's own values and ``PORT`` (the runtime owns the port)."""
    env = {"PYTHONUNBUFFERED": "1", **spec.env}
    if spec.port is not None:
        env["PORT"] = str(spec.port)
    return env


def app_argv(command: Sequence[str], env: Mapping[str, str]) -> list[str] | None:
    """Expand ``$VAR`` without a shell; ``None`` (empty command) keeps the image's own CMD."""
    if not command:
        return None
    argv = [_VAR.sub(lambda m: env.get(m.group(1) or m.group(2), ""), part) for part in command]
    if not argv[0]:
        raise PermanentRuntimeError(f"the program {command[0]!r} expands to nothing")
    return argv


def host_config(api: APIClient, spec: WorkloadSpec, *, network: str, restart: bool) -> Any:
    return api.create_host_config(
        network_mode=network,
        restart_policy={"Name": "unless-stopped"} if restart else None,
        init=True,  # a real PID 1: forwards SIGTERM, reaps zombies
        privileged=False,
        cap_drop=["ALL"],
        cap_add=KEPT_CAPABILITIES,
        security_opt=["no-new-privileges"],
        pids_limit=PIDS_LIMIT,
        log_config={"Type": "json-file", "Config": LOG_OPTIONS},
        **limits(spec),
    )


def limits(spec: WorkloadSpec) -> dict[str, int]:
    """Engine limits of the spec: CPU as a CFS quota per 100 ms, memory in bytes, no swap.

    (A quota rather than ``NanoCpus`` because the Engine can change a quota on a running
    container, and the SDK's ``update_container`` speaks only quotas.)
    """
    values: dict[str, int] = {}
    if spec.cpu_limit is not None:
        values["cpu_period"] = CPU_PERIOD_US
        values["cpu_quota"] = int(spec.cpu_limit * CPU_PERIOD_US)
    if spec.memory_limit_mb is not None:
        values["mem_limit"] = values["memswap_limit"] = spec.memory_limit_mb << 20
    return values


def current_limits(info: Mapping[str, Any]) -> dict[str, int]:
    host = info.get("HostConfig") or {}
    values = {}
    if host.get("CpuQuota", 0) > 0:
        values["cpu_period"] = int(host.get("CpuPeriod") or CPU_PERIOD_US)
        values["cpu_quota"] = int(host["CpuQuota"])
    if host.get("Memory"):
        values["mem_limit"] = values["memswap_limit"] = int(host["Memory"])
    return values


def to_replica(info: Mapping[str, Any], *, listening: bool, last_exit: int | None) -> Replica:
    """A container's inspect data (plus a listen probe) as the contract's replica."""
    labels = info["Config"]["Labels"]
    state = info["State"]
    return Replica(
        replica_id=labels[lbl.REPLICA],
        service_key=labels[lbl.SERVICE_KEY],
        deployment_id=labels[lbl.PREFIX + "deployment"],
        generation=int(labels.get(lbl.PREFIX + "generation") or 0),
        state=replica_state(state, listening=listening),
        address=address(info),
        restarts=int(info.get("RestartCount") or 0),
        started_at=parse_time(state.get("StartedAt")),
        last_exit_code=last_exit,
        labels=lbl.identity_of(labels),
    )


def replica_state(state: Mapping[str, Any], *, listening: bool) -> ReplicaState:
    status = state.get("Status")
    if state.get("OOMKilled") and status != "running":
        return ReplicaState.OOM_KILLED
    if status == "running":
        return ReplicaState.RUNNING if listening else ReplicaState.STARTING
    if status == "restarting":
        return ReplicaState.BACKOFF
    if status == "created":
        return ReplicaState.STARTING
    return ReplicaState.EXITED


def address(info: Mapping[str, Any]) -> str | None:
    """``ip:port`` on the container's network: the edge on the host routes there directly."""
    port = info["Config"]["Labels"].get(lbl.PORT)
    networks = (info.get("NetworkSettings") or {}).get("Networks") or {}
    ips = [n.get("IPAddress") for n in networks.values() if n.get("IPAddress")]
    if not port or not ips:
        return None
    return f"{ips[0]}:{port}"


def exit_code(code: int | None) -> int | None:
    """Engine exit codes 128+N (killed by signal N) as the contract's ``-N``, like the process
    runtime; a program that really exits with 137 is, unavoidably, reported as ``-9`` too."""
    if code is None:
        return None
    if 128 < code < 128 + signal.NSIG:
        return -(code - 128)
    return code


def parse_time(value: str | None) -> datetime | None:
    """The Engine's RFC 3339 nano timestamps; its zero time means never."""
    if not value or value.startswith("0001-"):
        return None
    return datetime.fromtimestamp(nanos(value) / 1e9, UTC)


def nanos(value: str) -> int:
    """``2024-01-02T03:04:05.123456789Z`` → nanoseconds since the epoch (exact)."""
    main, _, rest = value.rstrip("Z").partition(".")
    fraction = rest.split("+")[0].split("-")[0]
    seconds = datetime.fromisoformat(main).replace(tzinfo=UTC).timestamp()
    return int(seconds) * 1_000_000_000 + int((fraction + "000000000")[:9])


def grace_seconds(grace_s: float) -> int:
    """The Engine takes whole seconds; never round a grace period down to none."""
    return max(1, math.ceil(grace_s))
