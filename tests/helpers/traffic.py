"""A steady HTTP client through the edge, to prove that deploys and rollbacks lose nothing.

The client keeps one connection alive, as browsers do, and like them (and curl, and Go's
client) it resends a GET once when the server closed or reset that connection before sending a
single response byte: RFC 9112 §9.3.1 allows it for idempotent requests. Each Caddy config
reload swaps its HTTP servers, and a request that reaches an idle connection at that instant is
caught that way (``tests/integration/test_edge_caddy.py`` shows the same). A 5xx, a timeout, a
reset after a response started, or a second failure is never resent and counts as a failure.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import httpx

from tests.helpers.server import KubiduServer

MAX_RESENDS = 2  # one reload per deploy or rollback catches at most the one open connection


def steady_client(
    server: KubiduServer, hostname: str, action: Callable[[], object]
) -> tuple[list[str], list[str]]:
    """Send ~25 requests/s while ``action`` runs; return (failures, bodies)."""
    failures: list[str] = []
    answers: list[str] = []
    resends: list[str] = []
    done = threading.Event()
    url = f"http://127.0.0.1:{server.http_port}/"

    def client() -> None:
        with httpx.Client(timeout=5, headers={"Host": hostname}) as http:
            while not done.is_set():
                outcome = _get(http, url, resends)
                (answers if outcome.startswith("200 ") else failures).append(
                    outcome.removeprefix("200 ")
                )
                time.sleep(0.04)

    thread = threading.Thread(target=client)
    thread.start()
    try:
        action()
        time.sleep(2.5)  # keep going through the drain and the stop of the old replica
    finally:
        done.set()
        thread.join()
    assert len(answers) > 40
    assert len(resends) <= MAX_RESENDS, f"too many connections dropped: {resends}"
    return failures, answers


def _get(http: httpx.Client, url: str, resends: list[str], *, resend: bool = True) -> str:
    """``"200 <body>"``, or what went wrong."""
    try:
        response = http.get(url)
    except httpx.HTTPError as exc:
        if resend and _closed_before_responding(exc):
            resends.append(repr(exc))
            return _get(http, url, resends, resend=False)
        return repr(exc)
    body = response.text if response.status_code == 200 else response.text[:80]
    return f"{response.status_code} {body}"


def _closed_before_responding(error: httpx.HTTPError) -> bool:
    text = str(error)
    if isinstance(error, httpx.RemoteProtocolError):
        return "without sending a response" in text
    return isinstance(error, httpx.ReadError) and "Connection reset by peer" in text
