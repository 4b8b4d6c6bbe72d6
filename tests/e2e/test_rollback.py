"""Rollback end to end through the CLI, the pipeline, the process runtime and the edge.

Checks: `kubidu rollback --yes` brings the previous release back without a build, with no
failed request from a steady client, and records `rollback_from`; `kubidu deployments` shows
what can be rolled back to; a rollback while a deploy is running, to a pruned artifact, or
to a deployment that never went live is refused with a clear reason; a rollback whose
replicas fail the health check leaves the current deployment serving.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest

from tests.helpers.apps import write_stdlib_app
from tests.helpers.server import KubiduServer
from tests.helpers.traffic import steady_client
from tests.helpers.wait import wait_for


def _deploy(server: KubiduServer, app: Path, version: str, **options: object) -> str:
    write_stdlib_app(app, version=version, **options)  # type: ignore[arg-type]
    server.cli("deploy", cwd=app)
    deployment_id: str = server.cli_json("status", cwd=app)["deployment_id"]
    return deployment_id


def _hostname(server: KubiduServer, app: Path) -> str:
    return httpx.URL(server.cli_json("status", cwd=app)["url"]).host or ""


@pytest.mark.timeout(180)
def test_rollback_restores_the_previous_release_without_losing_requests(
    kubidu_server: KubiduServer, tmp_path: Path
) -> None:
    server, app = kubidu_server, tmp_path / "app"
    write_stdlib_app(app, version="v1")
    server.cli("init", "--project", "rb", "--service", "web", cwd=app)
    v1 = _deploy(server, app, "v1")
    v2 = _deploy(server, app, "v2")
    host = _hostname(server, app)
    listed = {d["id"]: d for d in server.cli_json("deployments", cwd=app)}
    assert listed[v1]["can_rollback"] and not listed[v2]["can_rollback"]

    failures, answers = steady_client(
        server, host, lambda: server.cli("rollback", "--yes", cwd=app)
    )
    assert failures == [], failures[:5]
    assert server.fetch(host).text.startswith("v1")
    assert any(a.startswith("v2") for a in answers) and answers[-1].startswith("v1")
    newest = server.cli_json("deployments", cwd=app)[0]
    assert newest["rollback_from"] == v1 and newest["status"] == "active"
    assert newest["trigger"] == "rollback"
    build = server.cli("logs", "--build", cwd=app).stdout
    assert "building" not in build  # no build: the release was reused
    refused = server.cli("rollback", newest["id"], "--yes", cwd=app, check=False)
    assert refused.returncode != 0 and "already live" in refused.stderr


@pytest.mark.timeout(240)
def test_rollbacks_that_cannot_happen_are_refused(
    kubidu_server: KubiduServer, tmp_path: Path
) -> None:
    server, app = kubidu_server, tmp_path / "app"
    server.stop()
    server.extra_env.update(
        {"KUBIDU_KEEP_ARTIFACTS": "2", "KUBIDU_HOUSEKEEPING_INTERVAL_SECONDS": "1"}
    )
    server.start()
    write_stdlib_app(app, version="v1")
    server.cli("init", "--project", "rb", "--service", "web", cwd=app)
    v1 = _deploy(server, app, "v1")
    _deploy(server, app, "v2")
    _deploy(server, app, "v3")

    def pruned() -> bool:
        listed = {d["id"]: d for d in server.cli_json("deployments", cwd=app)}
        return not listed[v1]["can_rollback"]

    wait_for(pruned, 20, what="v1's artifact to be pruned")
    result = server.cli("rollback", v1, "--yes", cwd=app, check=False)
    assert result.returncode != 0 and "pruned" in result.stderr

    no_terminal = server.cli("rollback", cwd=app, check=False)
    assert no_terminal.returncode == 2 and "--yes" in no_terminal.stderr

    write_stdlib_app(app, version="v4", startup_delay=4)
    server.cli("deploy", "--detach", cwd=app)
    busy = server.cli("rollback", "--yes", cwd=app, check=False)
    assert busy.returncode != 0 and "in progress" in busy.stderr


@pytest.mark.timeout(180)
def test_a_rollback_that_fails_its_health_check_keeps_the_current_release(
    kubidu_server: KubiduServer, tmp_path: Path
) -> None:
    server, app = kubidu_server, tmp_path / "app"
    flag = Path("/tmp") / f"kubidu-e2e-broken-{uuid.uuid4().hex}"
    broken_when_flagged = f"if os.path.exists({str(flag)!r}): sys.exit(4)"
    write_stdlib_app(app, version="v1", before_listen=broken_when_flagged)
    server.cli("init", "--project", "rb", "--service", "web", cwd=app)
    v1 = _deploy(server, app, "v1", before_listen=broken_when_flagged)
    v2 = _deploy(server, app, "v2")
    host = _hostname(server, app)
    flag.write_text("")
    try:
        result = server.cli("rollback", v1, "--yes", cwd=app, check=False)
    finally:
        flag.unlink()
    assert result.returncode != 0 and "exited with code 4" in result.stderr
    assert server.fetch(host).text.startswith("v2")
    assert server.cli_json("status", cwd=app)["deployment_id"] == v2
