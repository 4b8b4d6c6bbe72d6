"""Faults end to end: what users see when a deploy goes wrong, and what keeps serving.

Checks: a failing build, an app that crashes at start and an app that never opens its port
each fail the deploy with the reason on the CLI's stderr, while the previous deployment keeps
serving every request and no replica of the failed one is left; ``kill -9`` of the control
plane in the middle of a deploy leaves the app serving through the edge, and after a restart
the interrupted deploy ends, with no duplicate or orphaned replica.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import psutil
import pytest

from tests.helpers.apps import write_stdlib_app
from tests.helpers.server import KubiduServer
from tests.helpers.wait import wait_for


def _deploy_v1(server: KubiduServer, root: Path) -> tuple[Path, str]:
    app = write_stdlib_app(root / "app", version="v1")
    server.cli("init", "--project", "faults", "--service", "web", cwd=app)
    server.cli("deploy", cwd=app)
    hostname = httpx.URL(server.cli_json("status", cwd=app)["url"]).host or ""
    assert server.fetch(hostname).text.startswith("v1")
    return app, hostname


def _assert_v1_still_live(server: KubiduServer, app: Path, hostname: str, v1: str) -> None:
    for _ in range(5):
        assert server.fetch(hostname).text.startswith("v1")
    status = server.cli_json("status", cwd=app)
    assert status["deployment_id"] == v1 and status["status"] == "live"
    replicas = server.cli_json("ps", cwd=app)
    assert [r["deployment_id"] for r in replicas] == [v1], "a failed replica was left behind"


@pytest.mark.timeout(240)
def test_failed_deploys_leave_the_previous_one_serving(
    kubidu_server: KubiduServer, tmp_path: Path
) -> None:
    server = kubidu_server
    app, hostname = _deploy_v1(server, tmp_path)
    v1 = server.cli_json("status", cwd=app)["deployment_id"]
    cases = [
        ({"requirements": "kubidu-no-such-package-xyz==1.0\n"}, "kubidu-no-such-package-xyz"),
        ({"before_listen": "sys.exit(3)"}, "exited with code 3"),
        ({"before_listen": "time.sleep(3600)"}, "never opened its port"),
    ]
    for change, reason in cases:
        write_stdlib_app(app, version="v2", **change)  # type: ignore[arg-type]
        result = server.cli("deploy", cwd=app, check=False)
        assert result.returncode != 0
        assert reason in result.stderr, result.stderr
        _assert_v1_still_live(server, app, hostname, v1)
    history = server.cli_json("deployments", cwd=app)
    assert [d["status"] for d in history] == ["failed", "failed", "failed", "active"]


def _supervisors(data_dir: Path) -> list[psutil.Process]:
    return [
        p
        for p in psutil.process_iter(["cmdline"])
        if "kubidu.runtimes.process.supervisor" in " ".join(p.info["cmdline"] or [])
        and str(data_dir) in " ".join(p.info["cmdline"] or [])
    ]


def _deployment(server: KubiduServer, deployment_id: str) -> dict[str, str]:
    response = server.api("GET", f"/deployments/{deployment_id}")
    response.raise_for_status()
    result: dict[str, str] = response.json()
    return result


@pytest.mark.timeout(240)
@pytest.mark.parametrize("kubidu_server", ["sqlite", "postgresql"], indirect=True)
def test_kill_9_mid_deploy(kubidu_server: KubiduServer, tmp_path: Path) -> None:
    server = kubidu_server
    app, hostname = _deploy_v1(server, tmp_path)
    write_stdlib_app(app, version="v2", startup_delay=3)
    deployment_id = server.cli_json("deploy", "--detach", cwd=app)["id"]
    wait_for(lambda: _deployment(server, deployment_id)["status"] == "deploying", 60)

    server.kill9()
    for _ in range(10):  # the edge and the old app serve while the control plane is down
        assert server.fetch(hostname).text.startswith("v1")
        time.sleep(0.1)

    server.start()
    final = wait_for(
        lambda: (
            _deployment(server, deployment_id)["status"] in ("active", "failed")
            and _deployment(server, deployment_id)
        ),
        90,
    )
    if final["status"] == "active":
        wait_for(lambda: server.fetch(hostname).text.startswith("v2"), 20)
    wait_for(
        lambda: len(server.cli_json("ps", cwd=app)) == 1,
        30,
        what="exactly one replica after the interrupted deploy",
    )
    replicas = server.cli_json("ps", cwd=app)
    live = server.cli_json("status", cwd=app)["deployment_id"]
    assert replicas[0]["deployment_id"] == live
    wait_for(lambda: len(_supervisors(server.data_dir)) == 1, 30, what="no orphan supervisor")


@pytest.mark.timeout(180)
def test_restart_readopts_running_apps(kubidu_server: KubiduServer, tmp_path: Path) -> None:
    server = kubidu_server
    app, hostname = _deploy_v1(server, tmp_path)
    before = {p.pid for p in _supervisors(server.data_dir)}
    server.kill9()
    assert server.fetch(hostname).text.startswith("v1")
    server.start()
    time.sleep(6)  # at least one reconcile pass
    assert {p.pid for p in _supervisors(server.data_dir)} == before
    assert len(server.cli_json("ps", cwd=app)) == 1
    assert server.fetch(hostname).text.startswith("v1")
