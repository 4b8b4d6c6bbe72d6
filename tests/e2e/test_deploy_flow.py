"""End to end through the CLI, the API, the process runtime and the Caddy edge.

Checks: init + deploy of the Python example to a URL served by Caddy; env vars set, masked,
revealed and injected (a shared one into every service, below a service's own); a redeploy
under a steady client loses no request; status, ps, deployments and logs show what happened;
the Node example and the static site deploy too.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from tests.helpers.apps import copy_example, write_stdlib_app
from tests.helpers.server import KubiduServer
from tests.helpers.traffic import steady_client
from tests.helpers.wait import wait_for


@pytest.mark.parametrize("kubidu_server", ["sqlite", "postgresql"], indirect=True)
def test_python_example_deploys_and_redeploys_without_downtime(
    kubidu_server: KubiduServer, tmp_path: Path
) -> None:
    app = copy_example("python-app", tmp_path / "python-app")
    kubidu_server.cli("init", "--project", "demo", "--service", "web", cwd=app)
    deployed = kubidu_server.cli("deploy", cwd=app)
    status = kubidu_server.cli_json("status", cwd=app)
    assert status["status"] == "live" and status["deployment_id"]
    assert status["url"] in deployed.stdout
    hostname = httpx.URL(status["url"]).host
    assert "Hello from Kubidu" in kubidu_server.fetch(hostname).text

    kubidu_server.cli("env", "set", "GREETING=Howdy partner", cwd=app)
    listed = kubidu_server.cli("env", "list", cwd=app).stdout
    assert "GREETING" in listed and "Howdy" not in listed
    assert "Howdy partner" in kubidu_server.cli("env", "list", "--reveal", cwd=app).stdout

    failures, answers = steady_client(
        kubidu_server, hostname, lambda: kubidu_server.cli("deploy", cwd=app)
    )
    assert failures == [], f"requests failed during the redeploy: {failures[:5]}"
    assert any("Howdy partner" in a for a in answers)
    assert "Howdy partner" in kubidu_server.fetch(hostname).text

    history = kubidu_server.cli_json("deployments", cwd=app)
    assert [d["status"] for d in history[:2]] == ["active", "superseded"]
    assert history[0]["created_at"] >= history[1]["created_at"]
    replicas = kubidu_server.cli_json("ps", cwd=app)
    assert len(replicas) == 1 and replicas[0]["deployment_id"] == history[0]["id"]
    logs = kubidu_server.cli("logs", "--since", "5m", cwd=app).stdout
    assert "Booting worker" in logs or "Listening at" in logs
    build = kubidu_server.cli("logs", "--build", cwd=app).stdout
    assert "dependencies from cache" in build


def test_node_and_static_examples(kubidu_server: KubiduServer, tmp_path: Path) -> None:
    node = copy_example("node-app", tmp_path / "node-app")
    kubidu_server.cli("init", "--project", "shop", "--service", "api", cwd=node)
    kubidu_server.cli("deploy", cwd=node)
    node_host = httpx.URL(kubidu_server.cli_json("status", cwd=node)["url"]).host
    assert kubidu_server.fetch(node_host).status_code == 200

    site = copy_example("static-site", tmp_path / "static-site")
    kubidu_server.cli("init", "--project", "shop", "--service", "site", cwd=site)
    kubidu_server.cli("deploy", cwd=site)
    status = kubidu_server.cli_json("status", cwd=site)
    page = kubidu_server.fetch(httpx.URL(status["url"]).host)
    assert page.status_code == 200 and "<html" in page.text.lower()
    assert status["status"] == "live"


def test_shared_env_vars_reach_every_service_and_an_own_value_wins(
    kubidu_server: KubiduServer, tmp_path: Path
) -> None:
    web = write_stdlib_app(tmp_path / "web", version="web")
    api = write_stdlib_app(tmp_path / "api", version="api")
    kubidu_server.cli("init", "--project", "env-scopes", "--service", "web", cwd=web)
    kubidu_server.cli("init", "--project", "env-scopes", "--service", "api", cwd=api)
    kubidu_server.cli("env", "set", "--shared", "GREETING=shared", cwd=web)
    kubidu_server.cli("env", "set", "--secret", "GREETING=own", cwd=api)
    for app in (web, api):
        kubidu_server.cli("deploy", cwd=app)

    def answer(app: Path) -> str:
        return kubidu_server.fetch(
            httpx.URL(kubidu_server.cli_json("status", cwd=app)["url"]).host
        ).text

    assert (answer(web), answer(api)) == ("web shared\n", "api own\n")
    listed = kubidu_server.cli_json("env", "list", "--reveal", cwd=api)
    assert [(v["key"], v["value"], v["scope"], v["secret"]) for v in listed] == [
        ("GREETING", "own", "service", True),
        ("GREETING", "shared", "environment", False),
    ]
    kubidu_server.cli("env", "unset", "GREETING", cwd=api)
    kubidu_server.cli("deploy", cwd=api)
    assert answer(api) == "api shared\n"


def test_replicas_are_balanced(kubidu_server: KubiduServer, tmp_path: Path) -> None:
    app = write_stdlib_app(tmp_path / "app", version="v1")
    kubidu_server.cli("init", "--project", "scale", "--service", "web", cwd=app)
    response = kubidu_server.api(
        "PATCH", "/projects/scale/environments/production/services/web", json={"replicas": 2}
    )
    assert response.status_code == 200, response.text
    kubidu_server.cli("deploy", cwd=app)
    replicas = kubidu_server.cli_json("ps", cwd=app)
    assert len(replicas) == 2 and all(r["state"] == "running" for r in replicas)
    host = httpx.URL(kubidu_server.cli_json("status", cwd=app)["url"]).host
    for _ in range(10):
        assert kubidu_server.fetch(host).text.startswith("v1")
    logs = wait_for(
        lambda: [
            ln
            for ln in kubidu_server.cli("--json", "logs", cwd=app).stdout.splitlines()
            if "request /" in ln
        ],
        10,
    )
    assert len({json.loads(ln)["replica"] for ln in logs}) == 2


def test_logs_follow_shows_new_lines(kubidu_server: KubiduServer, tmp_path: Path) -> None:
    app = write_stdlib_app(tmp_path / "app", version="v1")
    kubidu_server.cli("init", "--project", "follow", "--service", "web", cwd=app)
    kubidu_server.cli("deploy", cwd=app)
    host = httpx.URL(kubidu_server.cli_json("status", cwd=app)["url"]).host or ""
    with kubidu_server.cli_process("logs", "-f", cwd=app) as follower:
        time.sleep(1)  # let it reach the end of the existing lines
        assert kubidu_server.fetch(host, "/followed-path").status_code == 200
        line = wait_for(lambda: follower.line_containing("request /followed-path"), 15)
    assert "request /followed-path" in line
