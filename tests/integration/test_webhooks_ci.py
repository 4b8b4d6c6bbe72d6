"""GitHub webhooks and wait-for-CI, through the use-cases and the real job handlers, against
the GitHub stand-in (REST + real git over HTTP), on SQLite and PostgreSQL.

Aspects checked:
* unsigned, forged (wrong secret) and replayed deliveries are refused and write nothing;
* refs, shas and repository names with leading dashes or shell metacharacters are refused;
* a push to the tracked branch without wait-for-CI fetches that commit and queues its deploy;
  a push to another branch does nothing;
* wait for CI, over many interleavings (hypothesis) of CI state changes, webhook deliveries,
  duplicates and job runs: zero deploys whenever a check or status fails, exactly one when all
  pass; a failure is recorded as skipped with the reason;
* a newer push supersedes a waiting one, also when the older push is delivered late;
* the manual override deploys a skipped commit and is audited; another team cannot see or
  override the connection.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kubidu.control.github import GitHubJobs
from kubidu.core.errors import InvalidInput, NotFound, Unauthorized
from kubidu.services import github, projects, webhooks
from kubidu.services.context import Actor, Platform
from kubidu.store import jobs
from kubidu.store.models import Deployment, PendingDeployment
from tests.helpers.github_standin import (
    GitHubStandIn,
    check_run_event,
    push_event,
    signed_headers,
    status_event,
)
from tests.helpers.tmp import make_traversable
from tests.integration.services_fixtures import count_rows

pytest_plugins = ["tests.integration.services_fixtures"]

TOKEN = "ghp_standin_token"
SECRET = "webhook-shared-secret"
ZERO = "0" * 40
_repo_names = iter(f"octo/app{i}" for i in range(10_000))


@pytest.fixture(scope="module")
def standin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitHubStandIn]:
    root = make_traversable(tmp_path_factory.mktemp("github"))
    with GitHubStandIn(root, token=TOKEN) as server:
        yield server


class World:
    """One connected service plus helpers to deliver events and run the jobs."""

    def __init__(self, p: Platform, admin: Actor, standin: GitHubStandIn, tmp: Path, *, ci: bool):
        self.p, self.standin, self.repo = p, standin, next(_repo_names)
        self.checkout = tmp / self.repo.replace("/", "-")
        standin.create_repo(self.repo)
        project = self.repo.split("/")[1]
        projects.create_project(p, actor=admin, name=project)
        projects.create_service(p, actor=admin, path=(project, "production"), name="web")
        self.path = (project, "production", "web")
        request = github.ConnectRequest(
            repo=self.repo,
            token=TOKEN,
            webhook_secret=SECRET,
            clone_url=standin.clone_url(self.repo),
            wait_for_ci=ci,
        )
        github.connect(p, actor=admin, path=self.path, request=request)
        tmp.mkdir(parents=True, exist_ok=True)
        self.jobs = GitHubJobs(platform=p, api_url=standin.url, scratch=make_traversable(tmp))

    def commit(self, message: str) -> str:
        self.checkout.mkdir(exist_ok=True)
        (self.checkout / "app.py").write_text(f"print({message!r})\n")
        return self.standin.commit(self.repo, self.checkout, f"{self.repo}: {message}")

    def deliver(
        self, event: str, payload: dict, *, secret: str = SECRET, delivery: str | None = None
    ) -> dict:
        body = json.dumps(payload).encode()
        headers = signed_headers(event, body, secret, delivery)
        return webhooks.receive(
            self.p,
            webhooks.Delivery(
                event, headers["X-GitHub-Delivery"], headers["X-Hub-Signature-256"], body
            ),
        )

    def drain(self) -> None:
        handlers = self.jobs.handlers()
        while (job := jobs.claim_next(self.p.db, worker_id="test")) is not None:
            if job.kind in handlers:
                asyncio.run(handlers[job.kind](job.payload))
            jobs.finish(self.p.db, job.id)  # "deploy" jobs are counted, not built, here

    def deployments_of(self, sha: str) -> int:
        with self.p.db.transaction() as session:
            return len(
                session.scalars(sa.select(Deployment.id).where(Deployment.git_commit == sha)).all()
            )

    def pending(self, sha: str) -> PendingDeployment:
        with self.p.db.transaction() as session:
            return session.scalars(
                sa.select(PendingDeployment).where(PendingDeployment.commit_sha == sha)
            ).one()


def test_signatures_replays_and_bad_refs(
    platform: Platform, admin: Actor, standin: GitHubStandIn, tmp_path: Path
) -> None:
    world = World(platform, admin, standin, tmp_path, ci=False)
    sha = world.commit("v1")
    payload = push_event(world.repo, before=ZERO, after=sha)
    body = json.dumps(payload).encode()
    for signature in (
        None,
        "sha256=" + "0" * 64,
        signed_headers("push", body, "wrong")["X-Hub-Signature-256"],
    ):
        with pytest.raises(Unauthorized):
            webhooks.receive(platform, webhooks.Delivery("push", "d-forged", signature, body))
    assert count_rows(platform.db, "webhook_deliveries") == 0
    assert count_rows(platform.db, "pending_deployments") == 0

    assert world.deliver("push", payload, delivery="d-1") == {"event": "push", "queued": 1}
    with pytest.raises(Unauthorized, match="replay"):
        world.deliver("push", payload, delivery="d-1")
    assert count_rows(platform.db, "pending_deployments") == 1

    for ref in ("refs/heads/-rf", "refs/heads/a;rm -rf /", "refs/heads/$(id)", "refs/heads/a..b"):
        with pytest.raises(InvalidInput):
            world.deliver("push", {**payload, "ref": ref})
    with pytest.raises(InvalidInput):
        world.deliver("push", {**payload, "after": "--upload-pack=touch /tmp/x"})
    bad_repo = {**payload, "repository": {"full_name": "-evil/x"}}
    with pytest.raises(InvalidInput):
        world.deliver("push", bad_repo)
    assert count_rows(platform.db, "pending_deployments") == 1


def test_push_deploys_tracked_branch_only(
    platform: Platform, admin: Actor, standin: GitHubStandIn, tmp_path: Path
) -> None:
    world = World(platform, admin, standin, tmp_path, ci=False)
    other = world.standin.commit(
        world.repo,
        world.checkout if world.checkout.exists() else _mk(world.checkout),
        "feature",
        branch="feature",
    )
    assert (
        world.deliver("push", push_event(world.repo, before=ZERO, after=other, branch="feature"))[
            "queued"
        ]
        == 0
    )
    sha = world.commit("v1")
    world.deliver("push", push_event(world.repo, before=ZERO, after=sha))
    world.drain()
    assert world.deployments_of(sha) == 1
    assert world.pending(sha).status == "deployed"
    assert standin.calls_to("POST", r"/octo/app\d+\.git/git-upload-pack")


def _mk(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "app.py").write_text("print('feature')\n")
    return path


_CONCLUSIONS = st.sampled_from(["success", "success", "neutral", "failure", "cancelled"])
_STATES = st.sampled_from(["success", "success", "failure", "error"])


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    checks=st.lists(_CONCLUSIONS, min_size=1, max_size=3),
    statuses=st.lists(_STATES, max_size=2),
    seed=st.integers(0, 2**32),
)
def test_wait_for_ci_interleavings(
    platform: Platform,
    admin: Actor,
    standin: GitHubStandIn,
    tmp_path: Path,
    checks: list[str],
    statuses: list[str],
    seed: int,
) -> None:
    world = World(platform, admin, standin, tmp_path / str(seed), ci=True)
    rnd = random.Random(seed)
    sha = world.commit("v1")
    for i, _ in enumerate(checks):  # CI registers its checks when it starts
        standin.set_check_run(world.repo, sha, f"job{i}", "queued")
    for i, _ in enumerate(statuses):
        standin.set_status(world.repo, sha, f"ctx{i}", "pending")
    updates = [("check", i, c) for i, c in enumerate(checks)] + [
        ("status", i, s) for i, s in enumerate(statuses)
    ]
    rnd.shuffle(updates)
    inbox: list[tuple[str, dict]] = [("push", push_event(world.repo, before=ZERO, after=sha))]
    for kind, index, outcome in updates:
        if kind == "check":
            standin.set_check_run(world.repo, sha, f"job{index}", "completed", outcome)
            event = (
                "check_run",
                check_run_event(
                    world.repo, sha=sha, name=f"job{index}", status="completed", conclusion=outcome
                ),
            )
        else:
            standin.set_status(world.repo, sha, f"ctx{index}", outcome)
            event = (
                "status",
                status_event(world.repo, sha=sha, context=f"ctx{index}", state=outcome),
            )
        inbox += [event] * rnd.randint(1, 2)  # GitHub may deliver twice, under new ids
        rnd.shuffle(inbox)
        for _ in range(rnd.randint(0, len(inbox))):  # deliver some now, keep others late
            world.deliver(*inbox.pop())
            if rnd.random() < 0.5:
                world.drain()
    for event in inbox:
        world.deliver(*event)
    world.drain()
    failing = any(c in ("failure", "cancelled") for c in checks) or any(
        s != "success" for s in statuses
    )
    assert world.deployments_of(sha) == (0 if failing else 1)
    pending = world.pending(sha)
    assert pending.status == ("skipped" if failing else "deployed")
    if failing:
        assert pending.reason and ("concluded" in pending.reason or "is " in pending.reason)


def test_newer_push_supersedes_and_override(
    platform: Platform, admin: Actor, rival: Actor, standin: GitHubStandIn, tmp_path: Path
) -> None:
    world = World(platform, admin, standin, tmp_path, ci=True)
    first = world.commit("v1")
    second = world.commit("v2")
    world.deliver("push", push_event(world.repo, before=first, after=second))
    world.deliver("push", push_event(world.repo, before=ZERO, after=first))  # delivered late
    standin.set_check_run(world.repo, first, "test", "completed", "success")
    standin.set_check_run(world.repo, second, "test", "completed", "failure")
    for sha, outcome in ((first, "success"), (second, "failure")):
        world.deliver(
            "check_run",
            check_run_event(
                world.repo, sha=sha, name="test", status="completed", conclusion=outcome
            ),
        )
    world.drain()
    assert world.pending(first).status == "superseded" and world.deployments_of(first) == 0
    skipped = world.pending(second)
    assert skipped.status == "skipped" and "'test' concluded failure" in (skipped.reason or "")
    assert world.deployments_of(second) == 0

    with pytest.raises(NotFound):
        github.override(
            platform, actor=rival, path=world.path, pending_id=skipped.id, team="default"
        )
    with pytest.raises(NotFound):
        github.list_pending(platform, actor=rival, path=world.path)
    view = github.override(platform, actor=admin, path=world.path, pending_id=skipped.id)
    assert view.status == "deploying"
    world.drain()
    assert world.deployments_of(second) == 1 and world.pending(second).status == "deployed"
    with platform.db.engine.connect() as conn:
        actions = conn.execute(sa.text("SELECT action FROM audit_records")).scalars().all()
    assert "github.override" in actions
