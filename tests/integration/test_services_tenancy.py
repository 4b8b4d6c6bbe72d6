"""Tenancy, the security boundary of the use-cases, on SQLite and PostgreSQL.

Aspects checked:
* a user of team B gets ``NotFound`` — never data, never ``Forbidden`` — for every read and
  write of team A's objects: projects, environments, services (list, get, update, create),
  env vars (list masked and revealed, change; environment and service scope), deployments
  (list, get, build log, latest, create from a real upload), replicas and runtime logs; with
  the team left implicit and with team A named explicitly;
* those refusals write nothing: no row in any tenant table, no audit record, the upload stays
  where it was, the service keeps its settings;
* team A's project names never appear in team B's project list, and the reverse;
* "not yours" is indistinguishable from "does not exist" (same error, same message shape);
* a ``viewer`` member of team A can read everything listed above, but gets ``Forbidden`` on
  every write and on revealing env var values, and those refusals write nothing either.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kubidu.core.errors import Forbidden, KubiduError, NotFound
from kubidu.services import deployments, envvars, logs, projects, replicas, rollback
from kubidu.services.context import Actor, Platform
from tests.integration.services_fixtures import (
    ENV_SECRET,
    PROJECT,
    SERVICE_SECRET,
    TEAM_A,
    TenantA,
    count_rows,
    make_upload,
)

pytest_plugins = ["tests.integration.services_fixtures"]

Operation = Callable[[], Any]
TABLES = ("projects", "environments", "services", "env_vars", "deployments", "jobs")


def _run(result: Any) -> Any:
    """Await coroutines (get_service, list_replicas) so every operation really runs."""
    return asyncio.run(result) if asyncio.iscoroutine(result) else result


def _snapshot(p: Platform) -> dict[str, int]:
    return {t: count_rows(p.db, t) for t in (*TABLES, "audit_records")}


def _reads(p: Platform, who: Actor, a: TenantA, team: str | None) -> dict[str, Operation]:
    env_path = (PROJECT, "production")
    return {
        "get_project": lambda: projects.get_project(p, actor=who, name=PROJECT, team=team),
        "list_services": lambda: projects.list_services(p, actor=who, path=env_path, team=team),
        "get_service": lambda: projects.get_service(p, actor=who, path=a.web, team=team),
        "env list (environment)": lambda: envvars.list_vars(p, actor=who, path=env_path, team=team),
        "env list (service)": lambda: envvars.list_vars(p, actor=who, path=a.web, team=team),
        "list_deployments": lambda: deployments.list_deployments(
            p, actor=who, path=a.web, team=team
        ),
        "latest_deployment_id": lambda: deployments.latest_deployment_id(
            p, actor=who, path=a.web, team=team
        ),
        "get_deployment": lambda: deployments.get_deployment(
            p, actor=who, deployment_id=a.deployment_id
        ),
        "build_log": lambda: deployments.build_log(p, actor=who, deployment_id=a.deployment_id),
        "replicas.service_id": lambda: replicas.service_id(p, actor=who, path=a.web, team=team),
        "replicas.list_replicas": lambda: replicas.list_replicas(
            p, actor=who, path=a.web, team=team
        ),
        "logs.search": lambda: logs.search(
            p, actor=who, path=a.web, wanted=logs.LogFilter(), team=team
        ),
        "logs.follow": lambda: logs.follow(
            p, actor=who, path=a.web, wanted=logs.LogFilter(), team=team
        ),
        "logs.build_log": lambda: logs.build_log(
            p, actor=who, deployment_id=a.deployment_id, follow_live=True
        ),
    }


def _writes(
    p: Platform, who: Actor, a: TenantA, team: str | None, upload: Path
) -> dict[str, Operation]:
    env_path = (PROJECT, "production")
    return {
        "create_project in team A": lambda: projects.create_project(
            p, actor=who, name="intruder", team=TEAM_A
        ),
        "create_environment": lambda: projects.create_environment(
            p, actor=who, project=PROJECT, name="evil", team=team
        ),
        "create_service": lambda: projects.create_service(
            p, actor=who, path=env_path, name="evil", team=team
        ),
        "update_service": lambda: projects.update_service(
            p, actor=who, path=a.web, replicas=7, health_path="/pwned", team=team
        ),
        "env reveal (environment)": lambda: envvars.list_vars(
            p, actor=who, path=env_path, reveal=True, team=team
        ),
        "env reveal (service)": lambda: envvars.list_vars(
            p, actor=who, path=a.web, reveal=True, team=team
        ),
        "env set (environment)": lambda: envvars.change_vars(
            p, actor=who, path=env_path, set_vars={"SHARED": "x"}, unset=[], team=team
        ),
        "env set (service)": lambda: envvars.change_vars(
            p, actor=who, path=a.web, set_vars={"NEW": "x"}, unset=[], team=team
        ),
        "env unset (environment)": lambda: envvars.change_vars(
            p, actor=who, path=env_path, set_vars={}, unset=["SHARED"], team=team
        ),
        "env unset (service)": lambda: envvars.change_vars(
            p, actor=who, path=a.web, set_vars={}, unset=["OWN"], team=team
        ),
        "create_from_upload": lambda: deployments.create_from_upload(
            p, actor=who, path=a.web, upload=upload, team=team
        ),
        "rollback": lambda: rollback.rollback(p, actor=who, path=a.web, team=team),
        "rollback (explicit target)": lambda: rollback.rollback(
            p, actor=who, path=a.web, target_id=a.deployment_id, team=team
        ),
    }


def _outcomes(operations: dict[str, Operation]) -> dict[str, str]:
    """Run each operation; name the error it raised, or ``returned <value>``."""
    outcomes: dict[str, str] = {}
    for name, operation in operations.items():
        try:
            value = _run(operation())
        except KubiduError as exc:
            outcomes[name] = type(exc).__name__
            assert ENV_SECRET not in exc.message and SERVICE_SECRET not in exc.message
        else:
            outcomes[name] = f"returned {value!r}"
    return outcomes


@pytest.mark.parametrize("team", [None, TEAM_A], ids=["implicit-team", "team-a-named"])
def test_other_team_gets_not_found_for_everything(
    platform: Platform, rival: Actor, tenant_a: TenantA, tmp_path: Path, team: str | None
) -> None:
    upload = make_upload(tmp_path / "rival", "b.tar.gz")
    before = _snapshot(platform)
    operations = {
        **_reads(platform, rival, tenant_a, team),
        **_writes(platform, rival, tenant_a, team, upload),
    }

    outcomes = _outcomes(operations)

    assert outcomes == dict.fromkeys(operations, "NotFound")
    assert _snapshot(platform) == before
    assert upload.exists()
    assert list(platform.uploads_dir.iterdir()) == [
        platform.uploads_dir / f"{tenant_a.deployment_id}.tar.gz"
    ]


def test_project_lists_are_disjoint(
    platform: Platform, admin: Actor, rival: Actor, tenant_a: TenantA
) -> None:
    assert [v.name for v in projects.list_projects(platform, actor=rival)] == ["own"]
    assert [v.name for v in projects.list_projects(platform, actor=admin)] == [PROJECT]
    with pytest.raises(NotFound):
        projects.list_projects(platform, actor=rival, team=TEAM_A)
    # Tenancy binds the platform admin too: team B's project is not theirs to see.
    with pytest.raises(NotFound):
        projects.get_project(platform, actor=admin, name="own")
    with pytest.raises(NotFound):
        projects.list_projects(platform, actor=admin, team="rivals")


def test_not_yours_looks_like_does_not_exist(
    platform: Platform, rival: Actor, tenant_a: TenantA
) -> None:
    def message(operation: Operation) -> tuple[type[BaseException], str]:
        with pytest.raises(KubiduError) as caught:
            operation()
        return type(caught.value), caught.value.message

    def same(make: Callable[[str], Operation], real: str, fake: str) -> None:
        real_error = message(make(real))
        fake_error = message(make(fake))
        assert real_error[0] is NotFound
        assert (real_error[0], real_error[1].replace(real, "?")) == (
            fake_error[0],
            fake_error[1].replace(fake, "?"),
        )

    same(lambda n: lambda: projects.get_project(platform, actor=rival, name=n), PROJECT, "nope")
    same(
        lambda t: lambda: projects.get_project(platform, actor=rival, name=PROJECT, team=t),
        TEAM_A,
        "no-such-team",
    )
    same(
        lambda d: lambda: deployments.get_deployment(platform, actor=rival, deployment_id=d),
        tenant_a.deployment_id,
        "dep_0000000000000000",
    )
    same(
        lambda d: lambda: deployments.build_log(platform, actor=rival, deployment_id=d),
        tenant_a.deployment_id,
        "dep_0000000000000000",
    )


def test_viewer_reads_but_cannot_write(
    platform: Platform, viewer: Actor, tenant_a: TenantA, tmp_path: Path
) -> None:
    reads = _reads(platform, viewer, tenant_a, None)
    read_results = {name: _run(op()) for name, op in reads.items()}
    assert [v.name for v in projects.list_projects(platform, actor=viewer)] == [PROJECT]
    assert [s.name for s in read_results["list_services"]] == ["web", "worker"]
    assert read_results["get_service"].id == tenant_a.web_id
    assert [(v.key, v.value) for v in read_results["env list (environment)"]] == [
        ("SHARED", envvars.MASK)
    ]
    assert [(v.key, v.value) for v in read_results["env list (service)"]] == [("OWN", envvars.MASK)]
    assert [d.id for d in read_results["list_deployments"]] == [tenant_a.deployment_id]
    assert read_results["get_deployment"].id == tenant_a.deployment_id
    lines, _view = read_results["build_log"]
    assert [line.line for line in lines] == ["built"]
    assert read_results["replicas.service_id"] == tenant_a.web_id

    upload = make_upload(tmp_path / "viewer", "v.tar.gz")
    before = _snapshot(platform)
    writes = _writes(platform, viewer, tenant_a, None, upload)

    outcomes = _outcomes(writes)

    assert outcomes == dict.fromkeys(writes, "Forbidden")
    assert _snapshot(platform) == before
    assert upload.exists()
    with pytest.raises(Forbidden):
        projects.create_project(platform, actor=viewer, name="mine")
