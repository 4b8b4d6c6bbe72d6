"""Deploy benchmark: cold deploy, warm redeploys, failed requests under a steady client, and
API read latency — on a real ``kubidu server`` (Caddy edge, SQLite).

Run from the repository root: ``python -m bench.deploy [--runtime process|docker]
[--redeploys N] [--rate R]``. Prints one JSON object. "Serving" means the steady client received
the new version through the edge. With ``--runtime docker`` the app is a small Dockerfile app
on the local Python base image (``tests/helpers/docker.py``; dockerd is started if needed), and
each warm redeploy changes only its app code, so the Engine's layer cache is used.
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.harness import bench_server
from kubidu.runtimes.docker import labels as docker_labels
from tests.helpers import docker as docker_helpers
from tests.helpers.apps import copy_example, write_stdlib_app
from tests.helpers.server import KubiduServer

MARKER = "This Flask app runs on Kubidu."


@dataclass
class SteadyClient:
    """Sends ``rate`` requests/s through the edge; records failures and when a text appears."""

    server: KubiduServer
    hostname: str
    rate: float
    sent: int = 0
    failed: list[str] = field(default_factory=list)
    seen: dict[str, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        with httpx.Client(timeout=10) as http:
            while not self._stop.is_set():
                self._one(http)
                time.sleep(1 / self.rate)

    def _one(self, http: httpx.Client) -> None:
        self.sent += 1
        try:
            response = http.get(
                f"http://127.0.0.1:{self.server.http_port}/", headers={"Host": self.hostname}
            )
        except httpx.HTTPError as exc:
            self.failed.append(repr(exc))
            return
        if response.status_code != 200:
            self.failed.append(f"HTTP {response.status_code}")
            return
        for version in (v for v in self.seen_wanted if v in response.text):
            self.seen.setdefault(version, time.monotonic())

    seen_wanted: list[str] = field(default_factory=list)

    def stop(self) -> None:
        self._stop.set()


def _redeploy(server: KubiduServer, app: Path, client: SteadyClient, n: int) -> float:
    version = f"bench-version-{n}"
    source = (app / "app.py").read_text()
    (app / "app.py").write_text(
        source.replace(MARKER, f"{MARKER} {version}", 1) if MARKER in source else source
    )
    client.seen_wanted.append(version)
    start = time.monotonic()
    server.cli("deploy", cwd=app)
    deadline = time.monotonic() + 30
    while version not in client.seen and time.monotonic() < deadline:
        time.sleep(0.01)
    (app / "app.py").write_text(source)
    return client.seen.get(version, float("nan")) - start


def _api_latency(server: KubiduServer, samples: int) -> dict[str, float]:
    path = f"{server.url}/api/v1/projects/bench/environments/production/services/web"
    timings = []
    with httpx.Client(headers={"Authorization": f"Bearer {server.token}"}) as http:
        for _ in range(samples):
            start = time.perf_counter()
            http.get(path).raise_for_status()
            timings.append((time.perf_counter() - start) * 1000)
    timings.sort()
    return {
        "p50_ms": round(statistics.median(timings), 2),
        "p99_ms": round(timings[int(len(timings) * 0.99) - 1], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--redeploys", type=int, default=5)
    parser.add_argument("--rate", type=float, default=25.0)
    parser.add_argument("--runtime", choices=["process", "docker"], default="process")
    args = parser.parse_args()
    with bench_server() as (server, root):
        daemon = docker_helpers.DockerDaemon.ensure(root) if args.runtime == "docker" else None
        try:
            if daemon is not None:
                args.python_image = docker_helpers.base_images().python
                server.extra_env.update(
                    KUBIDU_RUNTIME="docker", KUBIDU_DOCKER_PYTHON_IMAGE=args.python_image
                )
            print(json.dumps(_run(server, root, args), indent=2))
        finally:
            if daemon is not None:
                server.cleanup()
                _remove_containers(server)
                daemon.stop()


def _remove_containers(server: KubiduServer) -> None:
    api = docker_helpers.client()
    mine = docker_labels.owned(docker_labels.instance_for(server.data_dir))
    for found in api.containers(all=True, filters=mine):
        api.remove_container(found["Id"], force=True)
    for network in api.networks(filters=mine):
        api.remove_network(network["Id"])


def _dockerfile_app(root: Path, python_image: str) -> Path:
    """A stdlib HTTP app whose body carries MARKER, with its own small Dockerfile."""
    app = write_stdlib_app(root, version=MARKER)
    (app / "Procfile").unlink()
    (app / "Dockerfile").write_text(
        f"FROM {python_image}\nWORKDIR /app\nCOPY requirements.txt /app/\n"
        'COPY app.py /app/\nUSER 10001:10001\nCMD ["python3", "app.py"]\n'
    )
    return app


def _run(server: KubiduServer, root: Path, args: argparse.Namespace) -> dict[str, object]:
    server.start()
    if args.runtime == "docker":
        app = _dockerfile_app(root / "app", args.python_image)
    else:
        app = copy_example("python-app", root / "app")
    server.cli("init", "--project", "bench", "--service", "web", cwd=app)
    start = time.monotonic()
    server.cli("deploy", cwd=app)
    cold = time.monotonic() - start
    hostname = httpx.URL(server.cli_json("status", cwd=app)["url"]).host or ""
    client = SteadyClient(server=server, hostname=hostname, rate=args.rate)
    thread = threading.Thread(target=client.run)
    thread.start()
    try:
        warm = [_redeploy(server, app, client, n) for n in range(args.redeploys)]
        time.sleep(3)  # through the last drain and stop
    finally:
        client.stop()
        thread.join()
    return {
        "runtime": args.runtime,
        "cold_deploy_s": round(cold, 2),
        "warm_redeploy_s": {
            "median": round(statistics.median(warm), 2),
            "max": round(max(warm), 2),
            "all": [round(w, 2) for w in warm],
        },
        "steady_client": {
            "rate_per_s": args.rate,
            "requests": client.sent,
            "failed": len(client.failed),
            "failures": client.failed[:10],
        },
        "api_status_read": _api_latency(server, 300),
    }


if __name__ == "__main__":
    main()
