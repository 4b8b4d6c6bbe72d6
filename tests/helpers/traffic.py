"""A steady HTTP client through the edge, to prove that deploys and rollbacks lose nothing."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import httpx

from tests.helpers.server import KubiduServer


def steady_client(
    server: KubiduServer, hostname: str, action: Callable[[], object]
) -> tuple[list[str], list[str]]:
    """Send ~25 requests/s while ``action`` runs; return (failures, bodies)."""
    failures: list[str] = []
    answers: list[str] = []
    done = threading.Event()

    def client() -> None:
        with httpx.Client(timeout=5) as http:
            while not done.is_set():
                try:
                    response = http.get(
                        f"http://127.0.0.1:{server.http_port}/", headers={"Host": hostname}
                    )
                    (answers if response.status_code == 200 else failures).append(
                        response.text
                        if response.status_code == 200
                        else f"{response.status_code} {response.text[:80]}"
                    )
                except httpx.HTTPError as exc:
                    failures.append(repr(exc))
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
    return failures, answers
