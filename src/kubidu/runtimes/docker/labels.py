"""Names and labels of what the docker runtime creates; the only state it keeps is in them.

Every container carries the workload's identity (team, project, environment, service,
deployment, generation) under the ``io.kubidu.`` prefix, plus what ``observe()`` needs to rebuild
a :class:`~kubidu.runtimes.base.Replica` from the Engine alone: service key, replica id, port,
role (replica or one-off). A new runtime instance therefore re-adopts running containers.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kubidu.runtimes.base import Labels, PermanentRuntimeError, WorkloadSpec

PREFIX = "io.kubidu."
MANAGED = PREFIX + "managed"
SERVICE_KEY = PREFIX + "service-key"
REPLICA = PREFIX + "replica"
ROLE = PREFIX + "role"
INSTANCE = PREFIX + "instance"  # which control plane owns it: several may share one Engine
PORT = PREFIX + "port"
IDENTITY = ("team", "project", "environment", "service", "deployment", "generation")

# Keys become container and network names: no separators, nothing an argv could misread.
_SAFE_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def check_key(key: str) -> None:
    if not _SAFE_KEY.match(key) or ".." in key:
        raise PermanentRuntimeError(f"unsafe runtime key {key!r}")


def container_labels(
    spec: WorkloadSpec, *, instance: str, replica_id: str, role: str
) -> dict[str, str]:
    identity = {PREFIX + k: v for k, v in spec.labels.as_dict().items()}
    return {
        **identity,
        MANAGED: "1",
        INSTANCE: instance,
        SERVICE_KEY: spec.service_key,
        REPLICA: replica_id,
        ROLE: role,
        PORT: "" if spec.port is None else str(spec.port),
    }


def identity_of(labels: Mapping[str, str]) -> dict[str, str]:
    """The workload labels (team, project...) of a container, without the prefix."""
    return {k: labels.get(PREFIX + k, "") for k in IDENTITY}


def owned(instance: str, *pairs: str) -> dict[str, list[str]]:
    """An Engine filter: objects of this control plane carrying every ``key=value`` given."""
    return {"label": [f"{MANAGED}=1", f"{INSTANCE}={instance}", *pairs]}


def of_service(instance: str, service_key: str, *, role: str | None = "replica") -> Any:
    pairs = [f"{SERVICE_KEY}={service_key}"] + ([f"{ROLE}={role}"] if role else [])
    return owned(instance, *pairs)


def network_name(instance: str, labels: Labels) -> str:
    """One network per team and environment (of a project): private DNS by service name.

    Hashed, because names of projects and environments are only unique within their team.
    """
    scope = f"{instance}/{labels.team}/{labels.project}/{labels.environment}"
    return "kubidu-" + hashlib.sha256(scope.encode()).hexdigest()[:20]


def network_labels(instance: str, labels: Labels) -> dict[str, str]:
    return {
        MANAGED: "1",
        INSTANCE: instance,
        PREFIX + "team": labels.team,
        PREFIX + "project": labels.project,
        PREFIX + "environment": labels.environment,
    }


def container_name(replica_id: str) -> str:
    return f"kubidu-{replica_id}"


def instance_for(data_dir: Path) -> str:
    """The instance label of the control plane keeping its state in ``data_dir``: stable across
    restarts, distinct between control planes sharing one Engine."""
    return "kb-" + hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:12]
