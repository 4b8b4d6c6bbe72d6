"""Preview benchmark: seconds from a ``pull_request`` webhook to the PR comment that holds the
live preview URL — on a real ``kubidu server`` (process runtime, Caddy edge, SQLite) with the
GitHub stand-in of the test suite (REST API + real git over HTTP).

Warm caches: one PR is previewed first (which fills the dependency cache); then each measured
PR (``--runs N``) pushes a new commit and sends ``opened``; the clock stops when the stand-in
records the comment saying "live at", and the preview URL is checked to serve the PR's code.
The roadmap's target is ≤ 30 s. Run from the repository root: ``python -m bench.preview``.
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from tests.helpers.apps import write_stdlib_app
from tests.helpers.github_standin import GitHubStandIn, pull_request_event, signed_headers
from tests.helpers.server import KubiduServer, traversable_dir
from tests.helpers.wait import wait_for

TOKEN, SECRET, REPO = "ghp_bench", "bench-secret", "octo/bench"
TARGET_S = 30.0


def _send(server: KubiduServer, event: str, payload: dict[str, object]) -> None:
    body = json.dumps(payload).encode()
    response = httpx.post(
        f"{server.url}/api/v1/webhooks/github",
        content=body,
        headers=signed_headers(event, body, SECRET),
        timeout=30,
    )
    response.raise_for_status()


def _one_preview(
    server: KubiduServer, standin: GitHubStandIn, checkout: Path, number: int
) -> float:
    version = f"pr-{number}-v1"
    write_stdlib_app(checkout, version=version, requirements="")
    sha = standin.commit(REPO, checkout, version, branch=f"pr-{number}")
    start = time.monotonic()
    _send(server, "pull_request", pull_request_event(REPO, action="opened", number=number, sha=sha))

    def posted() -> bool:
        comments = standin.comments(REPO, number)
        return bool(comments) and "live at" in comments[0]["body"]

    wait_for(posted, 180, interval=0.05, what=f"the comment on PR #{number}")
    elapsed = time.monotonic() - start
    service = server.api("GET", f"/projects/bench/environments/pr-{number}/services/web").json()
    assert server.fetch(service["hostname"]).text.startswith(version)
    return elapsed


def run(runs: int) -> dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix="kubidu-bench-"))
    (work / "github").mkdir()
    home = work / "home"
    home.mkdir()
    with GitHubStandIn(work / "github", token=TOKEN) as standin:
        server = KubiduServer(data_dir=traversable_dir() / "data", home=home)
        server.extra_env["KUBIDU_GITHUB_API_URL"] = standin.url
        try:
            server.start()
            standin.create_repo(REPO)
            linked = home / "linked"
            linked.mkdir()
            server.cli("init", "--project", "bench", "--service", "web", cwd=linked)
            connect = standin.connect_command(REPO, secret=SECRET, options=("--previews",))
            server.cli(*connect, cwd=linked)
            checkout = work / "checkout"
            warmup = _one_preview(server, standin, checkout, 1)
            times = [_one_preview(server, standin, checkout, n) for n in range(2, runs + 2)]
        finally:
            server.cleanup()
            shutil.rmtree(server.data_dir.parent, ignore_errors=True)
    shutil.rmtree(work, ignore_errors=True)
    return {
        "benchmark": "preview",
        "warmup_comment_s": round(warmup, 2),
        "comment_s": [round(t, 2) for t in times],
        "comment_s_median": round(statistics.median(times), 2),
        "comment_s_max": round(max(times), 2),
        "target_s": TARGET_S,
        "meets_target": max(times) <= TARGET_S,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="measured pull requests")
    print(json.dumps(run(parser.parse_args().runs), indent=2))


if __name__ == "__main__":
    main()
