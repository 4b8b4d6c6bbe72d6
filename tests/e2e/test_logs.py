"""Logs end to end: the log store behind `kubidu logs`, fed by the shipper from real replicas.

Checks: lines from stdout and stderr of every replica are stored with their stream,
deployment and replica, and `kubidu logs` filters them by text (any case), stream,
deployment, replica and time; a service writing faster than its cap has the excess dropped
with a visible marker saying how many; lines older than the retention period are deleted;
lines written while the control plane is down are neither lost nor duplicated after it
restarts.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from tests.helpers.server import KubiduServer
from tests.helpers.wait import wait_for

CHATTY_APP = """
import os, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

for n in range(int(os.environ.get("BURST", "0"))):
    print(f"burst line {n}")
sys.stdout.flush()


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        stream = sys.stderr if self.path.startswith("/err/") else sys.stdout
        print(f"hit {self.path}", file=stream, flush=True)
        self.send_response(200)
        self.send_header("Content-Length", "3")
        self.end_headers()
        self.wfile.write(b"ok\\n")

    def log_message(self, fmt, *args):
        pass


ThreadingHTTPServer(("0.0.0.0", int(os.environ["PORT"])), Handler).serve_forever()
"""


def _chatty(server: KubiduServer, root: Path, *, burst: int = 0) -> tuple[Path, str]:
    root.mkdir()
    (root / "app.py").write_text(CHATTY_APP)
    (root / "requirements.txt").write_text("")
    (root / "Procfile").write_text("web: python app.py\n")
    server.cli("init", "--project", "logs", "--service", "web", cwd=root)
    server.cli("env", "set", f"BURST={burst}", cwd=root)
    server.cli("deploy", cwd=root)
    return root, httpx.URL(server.cli_json("status", cwd=root)["url"]).host or ""


def _records(server: KubiduServer, app: Path, *args: str) -> list[dict[str, object]]:
    out = server.cli("--json", "logs", *args, cwd=app).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def _lines(server: KubiduServer, app: Path, *args: str) -> list[str]:
    return [str(r["line"]) for r in _records(server, app, *args)]


@pytest.mark.timeout(180)
def test_search_and_filters(kubidu_server: KubiduServer, tmp_path: Path) -> None:
    server = kubidu_server
    app, host = _chatty(server, tmp_path / "app")
    first = server.cli_json("status", cwd=app)["deployment_id"]
    for path in ("/out/Alpha", "/err/Bravo", "/out/charlie"):
        assert server.fetch(host, path).status_code == 200
    wait_for(lambda: "hit /out/charlie" in _lines(server, app), 15)

    assert _lines(server, app, "--grep", "alpha") == ["hit /out/Alpha"]
    assert _lines(server, app, "--grep", "BRA") == ["hit /err/Bravo"]
    assert _lines(server, app, "--stream", "stderr") == ["hit /err/Bravo"]
    hits = [r for r in _records(server, app, "--grep", "hit /") if r["stream"] == "stdout"]
    assert {r["deployment_id"] for r in hits} == {first}
    replica = str(hits[0]["replica"])
    assert len(_lines(server, app, "--replica", replica, "--grep", "hit")) == 3

    server.cli("deploy", cwd=app)
    assert server.fetch(host, "/out/delta").status_code == 200
    wait_for(lambda: "hit /out/delta" in _lines(server, app), 15)
    assert _lines(server, app, "--deployment", first, "--grep", "delta") == []
    assert "hit /out/Alpha" in _lines(server, app, "--deployment", first)
    time.sleep(1.5)
    assert _lines(server, app, "--since", "1s", "--grep", "hit") == []
    bad = server.cli("logs", "--stream", "nope", cwd=app, check=False)
    assert bad.returncode != 0 and "stream must be one of" in bad.stderr


@pytest.mark.timeout(180)
def test_excess_is_dropped_with_a_marker_and_old_lines_expire(
    kubidu_server: KubiduServer, tmp_path: Path
) -> None:
    server = kubidu_server
    server.stop()
    server.extra_env.update(
        {
            "KUBIDU_LOG_RATE_PER_SERVICE": "20",
            "KUBIDU_LOG_BURST_PER_SERVICE": "50",
            "KUBIDU_LOG_RETENTION_DAYS": str(8 / 86400),
            "KUBIDU_HOUSEKEEPING_INTERVAL_SECONDS": "1",
        }
    )
    server.start()
    app, host = _chatty(server, tmp_path / "app", burst=2000)

    def marker() -> str | None:
        return next(
            (ln for ln in _lines(server, app, "--grep", "dropped") if "log lines dropped" in ln),
            None,
        )

    found = wait_for(marker, 20, what="a drop marker")
    dropped = int(found.split("] ")[1].split()[0])
    stored = len(_lines(server, app, "--grep", "burst line"))
    assert dropped > 0 and stored + dropped <= 2000 and stored < 2000
    assert server.fetch(host, "/out/recent").status_code == 200
    wait_for(lambda: "hit /out/recent" in _lines(server, app), 15)
    wait_for(
        lambda: not _lines(server, app, "--grep", "burst line"),
        30,
        what="lines older than the retention period to be deleted",
    )


@pytest.mark.timeout(180)
def test_lines_written_while_the_control_plane_is_down_are_kept_once(
    kubidu_server: KubiduServer, tmp_path: Path
) -> None:
    server = kubidu_server
    app, host = _chatty(server, tmp_path / "app")
    assert server.fetch(host, "/out/before").status_code == 200
    wait_for(lambda: "hit /out/before" in _lines(server, app), 15)
    server.kill9()
    for n in range(20):
        assert server.fetch(host, f"/out/during-{n}").status_code == 200
    server.start()
    wanted = ["hit /out/before", *(f"hit /out/during-{n}" for n in range(20))]
    wait_for(lambda: "hit /out/during-19" in _lines(server, app), 20)
    time.sleep(2)  # a second shipper pass must not add duplicates
    got = [ln for ln in _lines(server, app, "--grep", "hit /out/") if "hit" in ln]
    assert got == wanted
