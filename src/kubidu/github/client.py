"""A small async client of GitHub's REST API: commit checks, combined status, PR comments.

One instance per call site (it is cheap); the token is the connection's, sent as
``Authorization: Bearer``. Errors become :class:`GitHubError`, which says whether a retry may
help (5xx, 429, network) or not (4xx). Schemas follow GitHub's published REST reference:
``GET /repos/{o}/{r}/commits/{ref}/check-runs``, ``GET /repos/{o}/{r}/commits/{ref}/status``,
``POST /repos/{o}/{r}/issues/{n}/comments``, ``PATCH /repos/{o}/{r}/issues/comments/{id}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

_ACCEPT = "application/vnd.github+json"
_VERSION = "2022-11-28"
_PAGE = 100


class GitHubError(Exception):
    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class CheckRun:
    name: str
    status: str  # queued | in_progress | completed (and waiting, requested, pending)
    conclusion: str | None


@dataclass(frozen=True)
class CommitStatus:
    context: str
    state: str  # error | failure | pending | success


class GitHubClient:
    def __init__(
        self, *, api_url: str, token: str, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=api_url.rstrip("/"),
            headers={
                "Accept": _ACCEPT,
                "Authorization": f"Bearer {token}",
                "X-GitHub-Api-Version": _VERSION,
                "User-Agent": "kubidu",
            },
            timeout=httpx.Timeout(20.0, connect=10.0),
            transport=transport,
        )

    async def __aenter__(self) -> GitHubClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._http.aclose()

    async def check_runs(self, repo: str, sha: str) -> list[CheckRun]:
        runs: list[CheckRun] = []
        page = 1
        while True:
            body = await self._call(
                "GET",
                f"/repos/{repo}/commits/{sha}/check-runs",
                params={"per_page": _PAGE, "page": page},
            )
            batch = body.get("check_runs", [])
            runs += [CheckRun(r["name"], r["status"], r.get("conclusion")) for r in batch]
            if len(batch) < _PAGE or len(runs) >= int(body.get("total_count", 0)):
                return runs
            page += 1

    async def statuses(self, repo: str, sha: str) -> list[CommitStatus]:
        """The latest status of each context (GitHub's combined status)."""
        body = await self._call(
            "GET", f"/repos/{repo}/commits/{sha}/status", params={"per_page": _PAGE}
        )
        return [CommitStatus(s["context"], s["state"]) for s in body.get("statuses", [])]

    async def create_comment(self, repo: str, number: int, body: str) -> int:
        created = await self._call(
            "POST", f"/repos/{repo}/issues/{number}/comments", json={"body": body}
        )
        return int(created["id"])

    async def update_comment(self, repo: str, comment_id: int, body: str) -> None:
        await self._call(
            "PATCH", f"/repos/{repo}/issues/comments/{comment_id}", json={"body": body}
        )

    async def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise GitHubError(f"GitHub API unreachable: {exc}", retryable=True) from exc
        if response.status_code >= 400:
            retry = response.status_code >= 500 or response.status_code == 429
            raise GitHubError(
                f"GitHub API {method} {path}: {response.status_code} {_message(response)}",
                retryable=retry,
            )
        data = response.json()
        return data if isinstance(data, dict) else {}


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json().get("message", ""))
    except ValueError:
        return response.text[:200]
