"""Rollback benchmark: seconds from the rollback API call to the old version serving through
the edge, and failed requests of a steady client during the switch (process runtime).

Run from the repository root: ``python -m bench.rollback [--rollbacks N] [--rate R]``. Two
releases (v1, v2) of a small app are deployed; then each rollback goes back to the other one
(rolling back a rollback alternates), as users do when they flip between two releases.
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from pathlib import Path

import httpx

from bench.deploy import SteadyClient
from bench.harness import bench_server
from tests.helpers.apps import write_stdlib_app
from tests.helpers.server import KubiduServer

SERVICE = "/projects/bench/environments/production/services/web"


def _rollback(server: KubiduServer, client: SteadyClient, wanted: str) -> float:
    """Roll back; seconds until the client first got ``wanted`` (the other release) again."""
    client.seen.pop(wanted, None)  # the other release serves now, so this can't race
    client.seen_wanted[:] = [wanted]
    start = time.monotonic()
    response = server.api("POST", f"{SERVICE}/rollback", json={})
    response.raise_for_status()
    deadline = start + 30
    while wanted not in client.seen and time.monotonic() < deadline:
        time.sleep(0.005)
    return client.seen.get(wanted, float("nan")) - start


def _run(server: KubiduServer, root: Path, args: argparse.Namespace) -> dict[str, object]:
    server.start()
    app = root / "app"
    server.cli(
        "init", "--project", "bench", "--service", "web", cwd=write_stdlib_app(app, version="v1")
    )
    server.cli("deploy", cwd=app)
    write_stdlib_app(app, version="v2")
    server.cli("deploy", cwd=app)
    hostname = httpx.URL(server.cli_json("status", cwd=app)["url"]).host or ""
    client = SteadyClient(server=server, hostname=hostname, rate=args.rate)
    thread = threading.Thread(target=client.run)
    thread.start()
    timings = []
    try:
        for n in range(args.rollbacks):
            timings.append(_rollback(server, client, "v1" if n % 2 == 0 else "v2"))
            time.sleep(args.settle)
    finally:
        client.stop()
        thread.join()
    return {
        "runtime": "process",
        "rollback_to_serving_s": _summary(timings),
        "steady_client": {
            "rate_per_s": args.rate,
            "requests": client.sent,
            "failed": len(client.failed),
            "failures": client.failed[:10],
        },
    }


def _summary(values: list[float]) -> dict[str, object]:
    return {
        "median": round(statistics.median(values), 3),
        "max": round(max(values), 3),
        "all": [round(v, 3) for v in values],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rollbacks", type=int, default=6)
    parser.add_argument("--rate", type=float, default=25.0)
    parser.add_argument("--settle", type=float, default=3.0, help="seconds between rollbacks")
    args = parser.parse_args()
    with bench_server() as (server, root):
        print(json.dumps(_run(server, root, args), indent=2))


if __name__ == "__main__":
    main()
