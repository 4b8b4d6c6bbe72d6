"""The private network of a team's environment: created on first use, shared by its services.

Used by :class:`~kubidu.runtimes.docker.runtime.DockerRuntime` before it starts a container.
Each network is a user-defined bridge: containers on it find each other by service name (the
Engine's embedded DNS answers the alias every replica gets), and the Engine's isolation rules
drop traffic between different bridges, so another team's containers cannot reach them.
"""

from __future__ import annotations

import contextlib

from docker import APIClient
from docker.errors import APIError, NotFound

from kubidu.runtimes.base import Labels
from kubidu.runtimes.docker import labels as lbl


def ensure_network(api: APIClient, *, instance: str, labels: Labels) -> str:
    """The network's name, after creating it if it does not exist yet (race-safe)."""
    name = lbl.network_name(instance, labels)
    if not _exists(api, name):
        try:
            api.create_network(
                name,
                driver="bridge",
                check_duplicate=True,
                labels=lbl.network_labels(instance, labels),
            )
        except APIError as exc:
            if exc.status_code != 409 or not _exists(api, name):  # 409: created meanwhile
                raise
    return name


def remove_unused(api: APIClient, name: str) -> None:
    """Drop a network nothing is attached to any more; keep it while it is in use."""
    with contextlib.suppress(NotFound, APIError):
        if not api.inspect_network(name).get("Containers"):
            api.remove_network(name)


def _exists(api: APIClient, name: str) -> bool:
    return any(n["Name"] == name for n in api.networks(names=[name]))
