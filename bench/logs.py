"""Log latency benchmark: one app writes ``--rate`` lines/s; a client follows the service's
logs over SSE (as ``kubidu logs -f`` does) and measures, for every line, the time from the
app's write to the client's receipt. Same machine, so one clock.

Run from the repository root: ``python -m bench.logs [--rate 1000] [--seconds 10]``. Prints
one JSON object: p50/p99 latency, lines written, received, dropped (by drop markers), and
lines received out of order. Targets (issue 5): p99 ≤ 250 ms at 1,000 lines/s, nothing lost.
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
from tests.helpers.server import KubiduServer

SERVICE = "/projects/bench/environments/production/services/logs"
APP = """
import os, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RATE, SECONDS = float(os.environ["RATE"]), float(os.environ["SECONDS"])


def write_lines():
    start, n = time.time(), 0
    while n < RATE * SECONDS:
        due = int((time.time() - start) * RATE) + 1
        while n < min(due, RATE * SECONDS):
            sys.stdout.write(f"benchline {n} {time.time():.6f}\\n")
            n += 1
        sys.stdout.flush()
        time.sleep(0.002)


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/start":
            threading.Thread(target=write_lines, daemon=True).start()
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("0.0.0.0", int(os.environ["PORT"])), Handler).serve_forever()
"""


@dataclass
class Follower:
    server: KubiduServer
    latencies: list[float] = field(default_factory=list)
    sequence: list[int] = field(default_factory=list)
    dropped: int = 0
    ready: threading.Event = field(default_factory=threading.Event)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.server.token}", "Accept": "text/event-stream"}
        params = {"follow": "true", "grep": "benchline"}
        url = f"{self.server.url}/api/v1{SERVICE}/logs"
        timeout = httpx.Timeout(10, read=60)
        try:
            with httpx.stream(
                "GET", url, params=params, headers=headers, timeout=timeout
            ) as response:
                self.ready.set()
                for line in response.iter_lines():
                    self._take(line)
                    if self.stop.is_set():
                        return
        except httpx.HTTPError:
            if not self.stop.is_set():  # the server going away at the end is expected
                raise

    def _take(self, raw: str) -> None:
        if not raw.startswith("data:"):
            return
        record = json.loads(raw[5:])
        text = str(record.get("line", ""))
        if text.startswith("benchline "):
            _, seq, written = text.split()
            self.latencies.append(time.time() - float(written))
            self.sequence.append(int(seq))
        elif "skipped" in record:
            self.dropped += int(record["skipped"])


def _deploy(server: KubiduServer, root: Path, args: argparse.Namespace) -> str:
    app = root / "app"
    app.mkdir()
    (app / "app.py").write_text(APP)
    (app / "requirements.txt").write_text("")
    (app / "Procfile").write_text("web: python app.py\n")
    server.cli("init", "--project", "bench", "--service", "logs", cwd=app)
    server.cli("env", "set", f"RATE={args.rate}", f"SECONDS={args.seconds}", cwd=app)
    server.cli("deploy", cwd=app)
    return httpx.URL(server.cli_json("status", cwd=app)["url"]).host or ""


def _markers(server: KubiduServer) -> int:
    response = server.api("GET", f"{SERVICE}/logs", params={"grep": "log lines dropped"})
    lines = [json.loads(ln) for ln in response.text.splitlines() if ln.strip()]
    return sum(int(str(r["line"]).split("] ")[1].split()[0]) for r in lines)


def _run(server: KubiduServer, root: Path, args: argparse.Namespace) -> dict[str, object]:
    server.start()
    hostname = _deploy(server, root, args)
    follower = Follower(server)
    thread = threading.Thread(target=follower.run, daemon=True)
    thread.start()
    follower.ready.wait(10)
    time.sleep(0.5)
    server.fetch(hostname, "/start").raise_for_status()
    written = int(args.rate * args.seconds)
    deadline = time.monotonic() + args.seconds + 15
    while len(follower.sequence) < written and time.monotonic() < deadline:
        time.sleep(0.1)
    follower.stop.set()
    return _report(follower, written, _markers(server), args)


def _report(
    follower: Follower, written: int, marked: int, args: argparse.Namespace
) -> dict[str, object]:
    ordered = sorted(follower.latencies)
    out_of_order = sum(
        1 for a, b in zip(follower.sequence, follower.sequence[1:], strict=False) if b <= a
    )
    return {
        "rate_lines_per_s": args.rate,
        "seconds": args.seconds,
        "latency_ms": {
            "p50": round(statistics.median(ordered) * 1000, 1),
            "p99": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 1),
            "max": round(ordered[-1] * 1000, 1),
        },
        "lines_written": written,
        "lines_received": len(follower.sequence),
        "lines_dropped": {"by_the_store_cap": marked, "skipped_by_slow_reader": follower.dropped},
        "lines_lost": written - len(follower.sequence) - marked - follower.dropped,
        "out_of_order": out_of_order,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=1000)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    with bench_server() as (server, root):
        print(json.dumps(_run(server, root, args), indent=2))


if __name__ == "__main__":
    main()
