"""The API's boundary end to end: tenancy and bad input against a real server.

Checks: a user of another team gets 404 — never data — on every project, environment,
service, deployment, replica, log and env endpoint of the first team, and cannot deploy to
it; a request without a valid token gets 401; invalid names, env keys and hostile or oversized
archives get a 4xx with a reason, and nothing is written (no deployment, no stored upload).
"""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from tests.helpers.apps import tarball
from tests.helpers.server import KubiduServer

SVC = "/projects/alpha/environments/production/services/web"
GOOD_APP = {"app.py": b"print('hi')\n", "requirements.txt": b""}


@pytest.fixture
def two_teams(kubidu_server: KubiduServer) -> tuple[KubiduServer, str]:
    """Team ``default`` (admin) owns alpha/production/web; returns a token of team beta."""
    server = kubidu_server
    assert server.api("POST", "/projects", json={"name": "alpha"}).status_code == 201
    created = server.api(
        "POST", "/projects/alpha/environments/production/services", json={"name": "web"}
    )
    assert created.status_code == 201, created.text
    server.api("PUT", f"{SVC}/env", json={"set": {"SECRET": "s3cr3t"}}).raise_for_status()
    deployed = server.api(
        "POST", f"{SVC}/deployments", files={"source": ("s.tar.gz", tarball(GOOD_APP))}
    )
    assert deployed.status_code == 202, deployed.text
    user = server.api("POST", "/users", json={"email": "eve@example.com"})
    assert user.status_code == 201, user.text
    other = user.json()["token"]
    assert server.api("POST", "/teams", json={"name": "beta"}, token=other).status_code == 201
    return server, other


def test_another_team_sees_nothing(two_teams: tuple[KubiduServer, str]) -> None:
    server, other = two_teams
    deployment_id = server.api("GET", f"{SVC}/deployments").json()[0]["id"]
    reads = [
        "/projects/alpha",
        f"{SVC}",
        f"{SVC}/deployments",
        f"{SVC}/replicas",
        f"{SVC}/logs",
        f"{SVC}/env",
        f"{SVC}/env?reveal=true",
        "/projects/alpha/environments/production/services",
        "/projects/alpha/environments/production/env",
        f"/deployments/{deployment_id}",
        f"/deployments/{deployment_id}/build-log",
    ]
    for path in reads:
        response = server.api("GET", path, token=other)
        assert response.status_code == 404, (path, response.status_code, response.text)
        assert "s3cr3t" not in response.text
    writes = [
        ("PUT", f"{SVC}/env", {"json": {"set": {"X": "1"}}}),
        ("PATCH", SVC, {"json": {"replicas": 3}}),
        ("POST", "/projects/alpha/environments", {"json": {"name": "staging"}}),
        ("POST", "/projects/alpha/environments/production/services", {"json": {"name": "x"}}),
        ("POST", f"{SVC}/deployments", {"files": {"source": ("s.tar.gz", tarball(GOOD_APP))}}),
    ]
    for method, path, kwargs in writes:
        response = server.api(method, path, token=other, **kwargs)  # type: ignore[arg-type]
        assert response.status_code == 404, (method, path, response.text)
    assert server.api("GET", "/projects", token=other).json() == []
    assert len(server.api("GET", f"{SVC}/deployments").json()) == 1
    assert server.api("GET", SVC).json()["replicas"] == 1


def test_missing_or_bad_token_is_401(kubidu_server: KubiduServer) -> None:
    assert kubidu_server.api("GET", "/projects", token="kbd_nope").status_code == 401
    assert httpx.get(f"{kubidu_server.url}/api/v1/projects").status_code == 401


def test_bad_input_is_rejected_and_nothing_is_written(
    two_teams: tuple[KubiduServer, str],
) -> None:
    server, _ = two_teams
    for name in ["Bad", "-x", "a_b", "x" * 41, "a--b", "ünï", "../etc"]:
        response = server.api("POST", "/projects", json={"name": name})
        assert 400 <= response.status_code < 500 and response.json()["detail"], name
    for key in ["1ABC", "A-B", "PORT", "KUBIDU_TOKEN", "", "A B"]:
        response = server.api("PUT", f"{SVC}/env", json={"set": {key: "v"}})
        assert response.status_code == 422, key
    assert [v["key"] for v in server.api("GET", f"{SVC}/env").json()] == ["SECRET"]
    hostile = {
        "traversal": tarball({"../evil.py": b"x"}),
        "absolute": tarball({"/etc/evil": b"x"}),
        "link out": tarball(GOOD_APP, link=("out", "/etc/passwd")),
        "not gzip": b"this is not an archive",
    }
    for what, data in hostile.items():
        response = server.api("POST", f"{SVC}/deployments", files={"source": ("s.tgz", data)})
        assert response.status_code == 422, (what, response.text)
        assert response.json()["detail"], what
    assert len(server.api("GET", f"{SVC}/deployments").json()) == 1
    uploads = sorted(p.name for p in (server.data_dir / "uploads").iterdir())
    assert len(uploads) <= 1  # only the first, good deployment's source (if not yet built)


def test_oversized_upload_is_413(tmp_path: Path, kubidu_server: KubiduServer) -> None:
    server = kubidu_server
    server.stop()
    server.extra_env["KUBIDU_MAX_UPLOAD_MB"] = "1"
    server.start()
    server.api("POST", "/projects", json={"name": "alpha"}).raise_for_status()
    server.api(
        "POST", "/projects/alpha/environments/production/services", json={"name": "web"}
    ).raise_for_status()
    big = tarball({**GOOD_APP, "blob.bin": os.urandom(2 << 20)})
    response = server.api("POST", f"{SVC}/deployments", files={"source": ("s.tgz", big)})
    assert response.status_code == 413, response.text
    assert server.api("GET", f"{SVC}/deployments").json() == []
