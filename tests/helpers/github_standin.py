"""A faithful local stand-in for the parts of GitHub that Kubidu uses, recording every call.

The real GitHub cannot be reached here, so this serves, on 127.0.0.1 in a thread:

* the REST endpoints Kubidu calls, shaped as GitHub's published REST reference documents them:
  ``GET /repos/{o}/{r}/commits/{ref}/check-runs`` (``{"total_count", "check_runs": [{"id",
  "name", "head_sha", "status", "conclusion", ...}]}``, paginated by ``per_page``/``page``),
  ``GET /repos/{o}/{r}/commits/{ref}/status`` (combined status: ``{"state", "sha",
  "total_count", "statuses": [{"context", "state", ...}]}``, latest per context),
  ``POST /repos/{o}/{r}/issues/{n}/comments`` (201, the comment) and
  ``PATCH /repos/{o}/{r}/issues/comments/{id}`` (200, the comment); a missing or wrong
  ``Authorization: Bearer`` token gets 401 ``{"message": "Bad credentials"}``;
* real bare git repositories over smart HTTP (``git http-backend``) at ``/{o}/{r}.git``,
  requiring ``Authorization: Basic x-access-token:<token>`` as GitHub does for HTTPS clones.

Tests change CI state with :meth:`GitHubStandIn.set_check_run` / :meth:`set_status`, build
webhook deliveries with :func:`push_event` & co. and sign them with :func:`signed_headers`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import os
import re
import subprocess
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
}


@dataclass
class Call:
    method: str
    path: str
    body: Any


@dataclass
class RepoState:
    check_runs: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # sha→name→run
    statuses: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # sha→ctx→status
    comments: dict[int, dict[str, Any]] = field(default_factory=dict)  # id → comment


class GitHubStandIn:
    def __init__(self, root: Path, *, token: str) -> None:
        self.root, self.token = root, token
        self.repos: dict[str, RepoState] = {}
        self.calls: list[Call] = []
        self._ids = itertools.count(1000)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> GitHubStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- repositories -------------------------------------------------------------------

    def create_repo(self, full_name: str) -> Path:
        path = self.root / f"{full_name}.git"
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(path)], check=True)
        self.repos[full_name] = RepoState()
        return path

    def clone_url(self, full_name: str) -> str:
        return f"{self.url}/{full_name}.git"

    def connect_command(
        self, full_name: str, *, secret: str, options: tuple[str, ...]
    ) -> list[str]:
        """The ``kubidu github connect`` argv for ``full_name`` served by this stand-in."""
        return [
            "github",
            "connect",
            full_name,
            "--token",
            self.token,
            "--webhook-secret",
            secret,
            "--clone-url",
            self.clone_url(full_name),
            *options,
        ]

    def commit(self, full_name: str, workdir: Path, message: str, branch: str = "main") -> str:
        """Commit ``workdir`` (a checkout made by this helper) and push it to ``branch``."""
        env = {**os.environ, **GIT_ENV}
        if not (workdir / ".git").exists():
            subprocess.run(["git", "init", "-q", "-b", "main", str(workdir)], check=True, env=env)
        subprocess.run(["git", "-C", str(workdir), "add", "-A"], check=True, env=env)
        subprocess.run(
            ["git", "-C", str(workdir), "commit", "-q", "--allow-empty", "-m", message],
            check=True,
            env=env,
        )
        sha = subprocess.run(
            ["git", "-C", str(workdir), "rev-parse", "HEAD"],
            check=True,
            env=env,
            text=True,
            capture_output=True,
        ).stdout.strip()
        bare = self.root / f"{full_name}.git"
        subprocess.run(
            ["git", "-C", str(workdir), "push", "-q", "-f", str(bare), f"HEAD:refs/heads/{branch}"],
            check=True,
            env=env,
        )
        return sha

    # -- CI state -----------------------------------------------------------------------

    def set_check_run(
        self, repo: str, sha: str, name: str, status: str, conclusion: str | None = None
    ) -> None:
        with self._lock:
            runs = self.repos[repo].check_runs.setdefault(sha, {})
            run_id = runs.get(name, {}).get("id") or next(self._ids)
            runs[name] = {
                "id": run_id,
                "name": name,
                "head_sha": sha,
                "status": status,
                "conclusion": conclusion if status == "completed" else None,
                "external_id": "",
                "html_url": f"https://github.com/{repo}/runs/{run_id}",
                "started_at": "2024-01-01T00:00:00Z",
                "completed_at": "2024-01-01T00:01:00Z" if status == "completed" else None,
                "app": {"id": 15368, "slug": "github-actions", "name": "GitHub Actions"},
            }

    def set_status(self, repo: str, sha: str, context: str, state: str) -> None:
        with self._lock:
            self.repos[repo].statuses.setdefault(sha, {})[context] = {
                "id": next(self._ids),
                "context": context,
                "state": state,
                "description": f"{context} {state}",
                "target_url": None,
                "created_at": "2024-01-01T00:00:00Z",
                "updated_at": "2024-01-01T00:00:00Z",
            }

    def comments(self, repo: str, number: int) -> list[dict[str, Any]]:
        with self._lock:
            state = self.repos[repo]
            return [c for c in state.comments.values() if c["issue_number"] == number]

    def calls_to(self, method: str, pattern: str) -> list[Call]:
        return [c for c in list(self.calls) if c.method == method and re.search(pattern, c.path)]

    # -- REST ---------------------------------------------------------------------------

    def rest(
        self, method: str, path: str, query: dict[str, list[str]], body: Any
    ) -> tuple[int, Any]:
        self.calls.append(Call(method, path, body))
        routes = [
            ("GET", r"/repos/([^/]+/[^/]+)/commits/([0-9a-f]{40})/check-runs", self._check_runs),
            ("GET", r"/repos/([^/]+/[^/]+)/commits/([0-9a-f]{40})/status", self._combined),
            ("POST", r"/repos/([^/]+/[^/]+)/issues/(\d+)/comments", self._create_comment),
            ("PATCH", r"/repos/([^/]+/[^/]+)/issues/comments/(\d+)", self._update_comment),
        ]
        for verb, pattern, action in routes:
            match = re.fullmatch(pattern, path)
            if verb == method and match:
                if match.group(1) not in self.repos:
                    return 404, {"message": "Not Found"}
                return action(match.group(1), match.group(2), query, body)
        return 404, {"message": "Not Found"}

    def _check_runs(
        self, repo: str, sha: str, query: dict[str, list[str]], _b: Any
    ) -> tuple[int, Any]:
        with self._lock:
            runs = list(self.repos[repo].check_runs.get(sha, {}).values())
        per_page = min(int(query.get("per_page", ["30"])[0]), 100)
        page = int(query.get("page", ["1"])[0])
        chunk = runs[(page - 1) * per_page : page * per_page]
        return 200, {"total_count": len(runs), "check_runs": chunk}

    def _combined(self, repo: str, sha: str, _q: dict[str, list[str]], _b: Any) -> tuple[int, Any]:
        with self._lock:
            statuses = list(self.repos[repo].statuses.get(sha, {}).values())
        states = {s["state"] for s in statuses}
        if states & {"failure", "error"}:
            combined = "failure"
        elif not statuses or "pending" in states:
            combined = "pending"
        else:
            combined = "success"
        return 200, {
            "state": combined,
            "sha": sha,
            "total_count": len(statuses),
            "statuses": statuses,
        }

    def _create_comment(
        self, repo: str, number: str, _q: dict[str, list[str]], body: Any
    ) -> tuple[int, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("body"), str):
            return 422, {"message": "Validation Failed"}
        with self._lock:
            comment_id = next(self._ids)
            comment = {
                "id": comment_id,
                "node_id": f"IC_{comment_id}",
                "url": f"{self.url}/repos/{repo}/issues/comments/{comment_id}",
                "html_url": f"https://github.com/{repo}/pull/{number}#issuecomment-{comment_id}",
                "body": body["body"],
                "user": {"login": "kubidu[bot]", "id": 1, "type": "Bot"},
                "created_at": "2024-01-01T00:00:00Z",
                "updated_at": "2024-01-01T00:00:00Z",
                "issue_number": int(number),
            }
            self.repos[repo].comments[comment_id] = comment
        return 201, comment

    def _update_comment(
        self, repo: str, cid: str, _q: dict[str, list[str]], body: Any
    ) -> tuple[int, Any]:
        with self._lock:
            comment = self.repos[repo].comments.get(int(cid))
            if comment is None:
                return 404, {"message": "Not Found"}
            comment["body"] = body["body"]
            comment["updated_at"] = "2024-01-01T00:05:00Z"
        return 200, comment

    # -- git smart HTTP -----------------------------------------------------------------

    def git(self, handler: BaseHTTPRequestHandler, path: str, query: str, body: bytes) -> None:
        expected = "Basic " + base64.b64encode(f"x-access-token:{self.token}".encode()).decode()
        if handler.headers.get("Authorization") != expected:
            self.calls.append(Call(handler.command, path, "git: unauthorized"))
            handler.send_response(401)
            handler.send_header("WWW-Authenticate", 'Basic realm="GitHub"')
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        self.calls.append(Call(handler.command, path, "git"))
        env = {
            "PATH": os.environ["PATH"],
            "GIT_PROJECT_ROOT": str(self.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": path,
            "REQUEST_METHOD": handler.command,
            "QUERY_STRING": query,
            "CONTENT_TYPE": handler.headers.get("Content-Type", ""),
            "GIT_PROTOCOL": handler.headers.get("Git-Protocol", ""),
            "HTTP_CONTENT_ENCODING": handler.headers.get("Content-Encoding", ""),
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "uploadpack.allowAnySHA1InWant",
            "GIT_CONFIG_VALUE_0": "true",
        }
        out = subprocess.run(
            ["git", "http-backend"], input=body, env=env, capture_output=True
        ).stdout
        head, _, rest = out.partition(b"\r\n\r\n")
        headers = [h.split(":", 1) for h in head.decode().splitlines() if ":" in h]
        status = next((int(v.split()[0]) for k, v in headers if k.lower() == "status"), 200)
        handler.send_response(status)
        for key, value in headers:
            if key.lower() != "status":
                handler.send_header(key, value.strip())
        handler.send_header("Content-Length", str(len(rest)))
        handler.end_headers()
        handler.wfile.write(rest)


def _handler(standin: GitHubStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if ".git/" in parts.path:
                standin.git(self, parts.path, parts.query, body)
                return
            if self.headers.get("Authorization") != f"Bearer {standin.token}":
                standin.calls.append(Call(self.command, parts.path, "rest: unauthorized"))
                self._json(401, {"message": "Bad credentials"})
                return
            data = json.loads(body) if body else None
            status, answer = standin.rest(self.command, parts.path, parse_qs(parts.query), data)
            self._json(status, answer)

        def _json(self, status: int, value: Any) -> None:
            raw = json.dumps(value).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        do_GET = do_POST = do_PATCH = _serve

        def log_message(self, *args: object) -> None:
            pass

    return Handler


# -- webhook deliveries ------------------------------------------------------------------


def signed_headers(
    event: str, body: bytes, secret: str, delivery: str | None = None
) -> dict[str, str]:
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": signature,
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/abc1234",
    }


def _repository(full_name: str) -> dict[str, Any]:
    owner, name = full_name.split("/")
    return {
        "id": 1296269,
        "name": name,
        "full_name": full_name,
        "owner": {"login": owner, "id": 1, "type": "User"},
        "private": False,
        "clone_url": f"https://github.com/{full_name}.git",
        "default_branch": "main",
    }


def push_event(repo: str, *, before: str, after: str, branch: str = "main") -> dict[str, Any]:
    return {
        "ref": f"refs/heads/{branch}",
        "before": before,
        "after": after,
        "created": before == "0" * 40,
        "deleted": after == "0" * 40,
        "forced": False,
        "head_commit": {"id": after, "message": "change", "timestamp": "2024-01-01T00:00:00Z"},
        "repository": _repository(repo),
        "pusher": {"name": "octocat", "email": "octocat@example.com"},
        "sender": {"login": "octocat", "id": 1},
    }


def pull_request_event(
    repo: str, *, action: str, number: int, sha: str, branch: str = "feature"
) -> dict[str, Any]:
    return {
        "action": action,
        "number": number,
        "pull_request": {
            "number": number,
            "state": "closed" if action == "closed" else "open",
            "title": "A change",
            "head": {"ref": branch, "sha": sha, "repo": _repository(repo)},
            "base": {"ref": "main", "sha": "0" * 40, "repo": _repository(repo)},
            "merged": False,
        },
        "repository": _repository(repo),
        "sender": {"login": "octocat", "id": 1},
    }


def check_run_event(
    repo: str, *, sha: str, name: str, status: str, conclusion: str | None
) -> dict[str, Any]:
    return {
        "action": "completed" if status == "completed" else "created",
        "check_run": {
            "id": 4,
            "name": name,
            "head_sha": sha,
            "status": status,
            "conclusion": conclusion,
        },
        "repository": _repository(repo),
        "sender": {"login": "octocat", "id": 1},
    }


def check_suite_event(repo: str, *, sha: str, conclusion: str | None) -> dict[str, Any]:
    return {
        "action": "completed",
        "check_suite": {"id": 5, "head_sha": sha, "status": "completed", "conclusion": conclusion},
        "repository": _repository(repo),
        "sender": {"login": "octocat", "id": 1},
    }


def status_event(repo: str, *, sha: str, context: str, state: str) -> dict[str, Any]:
    return {
        "id": 6,
        "sha": sha,
        "name": repo,
        "context": context,
        "state": state,
        "repository": _repository(repo),
        "sender": {"login": "octocat", "id": 1},
    }
