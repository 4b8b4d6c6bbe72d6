"""End to end: ``git push`` to a service's remote on a real control plane, through the real git
client, ``git http-backend``, the pre-receive hook, the build, the process runtime and Caddy.

Aspects checked:
* a push of ``main`` builds and deploys the commit, streams the build log to the pusher's
  terminal (``remote:`` lines) and ends with the live URL, which serves the pushed code;
* a failed build is reported to the pusher, the push is rejected and the branch does not move;
* a branch name with shell metacharacters is rejected by the hook;
* without a token, or with a wrong one, git gets 401 (and the smart-HTTP endpoint challenges
  with ``WWW-Authenticate: Basic``); a second team's token cannot see the repository;
* branch mapping: an environment tracking ``develop`` deploys pushes of ``develop`` only.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx

from tests.helpers.apps import write_stdlib_app
from tests.helpers.github_standin import GIT_ENV
from tests.helpers.server import KubiduServer


def _git(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **GIT_ENV, "GIT_TERMINAL_PROMPT": "0"}
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, text=True, capture_output=True, timeout=180, check=check
    )


def _commit(app: Path, message: str) -> str:
    if not (app / ".git").exists():
        _git("init", "-q", "-b", "main", cwd=app)
    _git("add", "-A", cwd=app)
    _git("commit", "-q", "--allow-empty", "-m", message, cwd=app)
    return _git("rev-parse", "HEAD", cwd=app).stdout.strip()


def _remote(server: KubiduServer, path: str, token: str | None) -> str:
    auth = f"git:{token}@" if token else ""
    return f"http://{auth}127.0.0.1:{server.api_port}/git/{path}"


def test_git_push_deploys_and_reports(kubidu_server: KubiduServer, tmp_path: Path) -> None:
    app = write_stdlib_app(tmp_path / "app", version="pushed-v1")
    kubidu_server.cli("init", "--project", "gitdemo", "--service", "web", cwd=app)
    sha = _commit(app, "v1")
    remote = _remote(kubidu_server, "gitdemo/web.git", kubidu_server.token)
    pushed = _git("push", remote, "main", cwd=app)
    assert "remote: ==> building deployment" in pushed.stderr
    assert "Installing requirements" in pushed.stderr or "Detected python app" in pushed.stderr
    status = kubidu_server.cli_json("status", cwd=app)
    assert f"live at {status['url']}" in pushed.stderr
    assert kubidu_server.fetch(httpx.URL(status["url"]).host).text.startswith("pushed-v1")
    history = kubidu_server.cli_json("deployments", cwd=app)
    assert history[0]["status"] == "active" and sha[:12] in (history[0]["message"] or "")

    (app / "requirements.txt").write_text("this is not a requirement !!!\n")
    _commit(app, "broken")
    failed = _git("push", remote, "main", cwd=app, check=False)
    assert failed.returncode != 0
    assert "deploy failed" in failed.stderr and "pre-receive hook declined" in failed.stderr
    assert _git("ls-remote", remote, "refs/heads/main", cwd=app).stdout.split()[0] == sha
    assert kubidu_server.fetch(httpx.URL(status["url"]).host).text.startswith("pushed-v1")

    evil = _git("push", remote, "HEAD:refs/heads/x$(touch${IFS}pwned)", cwd=app, check=False)
    assert evil.returncode != 0 and "invalid branch name" in evil.stderr
    assert not (app / "pwned").exists()


def test_git_auth_and_branch_mapping(kubidu_server: KubiduServer, tmp_path: Path) -> None:
    app = write_stdlib_app(tmp_path / "app", version="develop-v1")
    kubidu_server.cli("init", "--project", "mapped", "--service", "web", cwd=app)
    for args in (["--no-token"], ["--token", "kbd_wrong"]):
        token = None if args[0] == "--no-token" else args[1]
        denied = _git(
            "ls-remote", _remote(kubidu_server, "mapped/web.git", token), cwd=tmp_path, check=False
        )
        assert denied.returncode != 0
        assert (
            "401" in denied.stderr
            or "Authentication failed" in denied.stderr
            or "could not read Username" in denied.stderr
        )
    raw = httpx.get(f"{kubidu_server.url}/git/mapped/web.git/info/refs?service=git-receive-pack")
    assert raw.status_code == 401 and raw.headers["www-authenticate"].startswith("Basic")

    rival = kubidu_server.api("POST", "/users", json={"email": "rival@example.com"}).json()["token"]
    assert (
        httpx.post(
            f"{kubidu_server.url}/api/v1/teams",
            json={"name": "rivals"},
            headers={"Authorization": f"Bearer {rival}"},
        ).status_code
        == 201
    )
    hidden = _git(
        "ls-remote", _remote(kubidu_server, "mapped/web.git", rival), cwd=tmp_path, check=False
    )
    assert hidden.returncode != 0 and "not found" in hidden.stderr

    kubidu_server.api("POST", "/projects/mapped/environments", json={"name": "staging"})
    kubidu_server.api(
        "POST", "/projects/mapped/environments/staging/services", json={"name": "web"}
    )
    answer = kubidu_server.api(
        "PUT", "/projects/mapped/environments/staging/git-branch", json={"branch": "develop"}
    )
    assert answer.json() == {"environment": "staging", "branch": "develop"}
    _commit(app, "develop work")
    pushed = _git(
        "push",
        _remote(kubidu_server, "mapped/web.git", kubidu_server.token),
        "HEAD:refs/heads/develop",
        cwd=app,
    )
    assert "live at" in pushed.stderr
    staging = kubidu_server.api("GET", "/projects/mapped/environments/staging/services/web").json()
    production = kubidu_server.api(
        "GET", "/projects/mapped/environments/production/services/web"
    ).json()
    assert staging["status"] == "live" and production["deployment_id"] is None
    assert kubidu_server.fetch(staging["hostname"]).text.startswith("develop-v1")
    untracked = _git(
        "push",
        _remote(kubidu_server, "mapped/web.git", kubidu_server.token),
        "HEAD:refs/heads/topic",
        cwd=app,
    )
    assert "tracked by no environment" in untracked.stderr
