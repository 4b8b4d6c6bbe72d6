"""Turning a stored deployment into the runtime's :class:`WorkloadSpec`.

The same function serves first deploys, resumed deploys and the reconciler, so a replica
restarted after a crash runs with exactly the artifact, command and env snapshot it was
deployed with.
"""

from __future__ import annotations

from kubidu.control.state import DeploymentRecord
from kubidu.runtimes.base import HealthCheck, Labels, WorkloadSpec

NOMINAL_PORT = 8000


def system_user_for(team_id: str) -> str:
    """The unprivileged account a team's builds and replicas run as (derived from its id)."""
    return "kb-" + team_id.removeprefix("team_")


def workload_spec(
    rec: DeploymentRecord, *, isolation: bool, health_timeout_s: float
) -> WorkloadSpec:
    if rec.artifact is None:
        raise ValueError(f"deployment {rec.id} has no artifact yet")
    return WorkloadSpec(
        service_key=rec.service_id,
        deployment_id=rec.id,
        generation=rec.generation,
        artifact=rec.artifact,
        command=rec.command,
        labels=Labels(
            team=rec.team_id,
            project=rec.project,
            environment=rec.environment,
            service=rec.service,
            deployment=rec.id,
            generation=rec.generation,
        ),
        env=_env(rec),
        replicas=rec.replicas,
        port=rec.port or NOMINAL_PORT,
        health=HealthCheck(path=rec.health_path, grace_s=health_timeout_s),
        cpu_limit=rec.cpu_limit,
        memory_limit_mb=rec.memory_limit_mb,
        run_as=system_user_for(rec.team_id) if isolation else None,
    )


def _env(rec: DeploymentRecord) -> dict[str, str]:
    platform = {
        "KUBIDU_PROJECT": rec.project,
        "KUBIDU_ENVIRONMENT": rec.environment,
        "KUBIDU_SERVICE": rec.service,
        "KUBIDU_DEPLOYMENT_ID": rec.id,
        "KUBIDU_HOSTNAME": rec.hostname,
    }
    # The build's PATH/VIRTUAL_ENV win over user values: the app cannot start without them.
    return {**rec.env, **platform, **rec.build_env}
