"""End to end with the GitHub stand-in: webhooks into a real control plane, commits cloned
over real git, deployed through Caddy, PR comments on the stand-in's REST API.

Aspects checked:
* unsigned and replayed deliveries get 401 at ``POST /api/v1/webhooks/github``;
* wait for CI: a push whose check fails is skipped with the reason and deploys nothing; the
  manual override (``kubidu github deploy``) deploys it;
* a pull request opened → ``pr-<N>`` serves the PR's code at its own URL, with the env vars
  copied except the one marked secret, and one PR comment holds that URL; a new push to the PR
  (synchronize) edits the same comment and serves the new code; closed → the environment, its
  service and its route are gone and the comment says so.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers.apps import write_stdlib_app
from tests.helpers.github_standin import (
    GitHubStandIn,
    check_run_event,
    pull_request_event,
    push_event,
    signed_headers,
)
from tests.helpers.server import KubiduServer, running_server
from tests.helpers.tmp import make_traversable
from tests.helpers.wait import wait_for

TOKEN = "ghp_e2e_token"
SECRET = "e2e-webhook-secret"
REPO = "octo/shop"
ZERO = "0" * 40


@pytest.fixture
def github_world(tmp_path: Path) -> Iterator[tuple[KubiduServer, GitHubStandIn]]:
    (tmp_path / "github").mkdir()
    with GitHubStandIn(make_traversable(tmp_path / "github"), token=TOKEN) as standin:
        home = tmp_path / "home"
        home.mkdir()
        github = {"KUBIDU_GITHUB_API_URL": standin.url}
        with running_server(home, extra_env=github) as server:
            yield server, standin


def _send(
    server: KubiduServer,
    event: str,
    payload: dict,
    *,
    delivery: str | None = None,
    secret: str = SECRET,
) -> httpx.Response:
    body = json.dumps(payload).encode()
    headers = signed_headers(event, body, secret, delivery)
    return httpx.post(
        f"{server.url}/api/v1/webhooks/github", content=body, headers=headers, timeout=30
    )


def _pending(server: KubiduServer, app: Path, sha: str) -> dict | None:
    return next(
        (p for p in server.cli_json("github", "pending", cwd=app) if p["commit_sha"] == sha), None
    )


def test_wait_for_ci_and_previews(
    github_world: tuple[KubiduServer, GitHubStandIn], tmp_path: Path
) -> None:
    server, standin = github_world
    standin.create_repo(REPO)
    checkout = write_stdlib_app(tmp_path / "checkout", version="main-v1")
    main_sha = standin.commit(REPO, checkout, "main v1")
    app = tmp_path / "linked"
    app.mkdir()
    server.cli("init", "--project", "shop", "--service", "web", cwd=app)
    options = ("--wait-for-ci", "--previews")
    server.cli(*standin.connect_command(REPO, secret=SECRET, options=options), cwd=app)
    server.cli("env", "set", "--secret", "GREETING=hi-from-base", "API_KEY=very-secret", cwd=app)
    marked = server.api(
        "PUT",
        "/projects/shop/environments/production/services/web/env-secrets",
        json={"keys": ["GREETING"], "secret": False},
    )
    assert marked.json() == {"secret": ["API_KEY"]}

    push = push_event(REPO, before=ZERO, after=main_sha)
    unsigned = httpx.post(
        f"{server.url}/api/v1/webhooks/github",
        json=push,
        headers={"X-GitHub-Event": "push", "X-GitHub-Delivery": "u1"},
    )
    assert unsigned.status_code == 401
    assert _send(server, "push", push, secret="forged").status_code == 401
    assert _send(server, "push", push, delivery="push-1").status_code == 202
    assert _send(server, "push", push, delivery="push-1").status_code == 401
    standin.set_check_run(REPO, main_sha, "tests", "completed", "failure")
    assert (
        _send(
            server,
            "check_run",
            check_run_event(
                REPO, sha=main_sha, name="tests", status="completed", conclusion="failure"
            ),
        ).status_code
        == 202
    )
    skipped = wait_for(
        lambda: (p := _pending(server, app, main_sha)) and p["status"] == "skipped" and p, 30
    )
    assert "'tests' concluded failure" in skipped["reason"]
    assert server.cli_json("deployments", cwd=app) == []

    server.cli("github", "deploy", skipped["id"], cwd=app)
    wait_for(lambda: server.cli_json("status", cwd=app)["status"] == "live", 90)
    base_url = server.cli_json("status", cwd=app)["url"]
    assert server.fetch(httpx.URL(base_url).host).text.startswith("main-v1 hi-from-base")

    write_stdlib_app(checkout, version="pr-v1")
    pr_sha = standin.commit(REPO, checkout, "pr v1", branch="feature")
    assert (
        _send(
            server, "pull_request", pull_request_event(REPO, action="opened", number=7, sha=pr_sha)
        ).status_code
        == 202
    )
    comment = wait_for(
        lambda: (
            standin.comments(REPO, 7)
            and "live at" in standin.comments(REPO, 7)[0]["body"]
            and standin.comments(REPO, 7)[0]
        ),
        90,
    )
    preview = server.api("GET", "/projects/shop/environments/pr-7/services/web").json()
    assert preview["url"] in comment["body"] and preview["url"] != base_url
    assert server.fetch(preview["hostname"]).text.startswith("pr-v1 hi-from-base")
    keys = {
        v["key"]
        for v in server.api("GET", "/projects/shop/environments/pr-7/services/web/env").json()
    }
    assert "GREETING" in keys and "API_KEY" not in keys

    write_stdlib_app(checkout, version="pr-v2")
    pr_sha2 = standin.commit(REPO, checkout, "pr v2", branch="feature")
    _send(
        server,
        "pull_request",
        pull_request_event(REPO, action="synchronize", number=7, sha=pr_sha2),
    )
    wait_for(
        lambda: (
            pr_sha2[:12] in standin.comments(REPO, 7)[0]["body"]
            and "live at" in standin.comments(REPO, 7)[0]["body"]
        ),
        90,
    )
    assert len(standin.comments(REPO, 7)) == 1 and standin.calls_to("PATCH", r"/issues/comments/")
    assert server.fetch(preview["hostname"]).text.startswith("pr-v2")

    _send(server, "pull_request", pull_request_event(REPO, action="closed", number=7, sha=pr_sha2))
    wait_for(lambda: "removed" in standin.comments(REPO, 7)[0]["body"], 60)
    assert "pr-7" not in server.api("GET", "/projects/shop").json()["environments"]
    assert server.api("GET", "/projects/shop/environments/pr-7/services/web").status_code == 404
    wait_for(lambda: server.fetch(preview["hostname"]).status_code != 200, 15)
    assert server.fetch(httpx.URL(base_url).host).text.startswith("main-v1")
