"""The edge against a real Caddy and real upstream processes (kubidu.edge.CaddyEdge).

Aspects checked:
* a route proxies to a stdlib HTTP upstream by exact Host; unknown hosts get 404;
* switching upstreams A -> B under a steady client loses no request, and traffic moves to B;
* an upstream crashing (kill -9) beside a healthy one loses no request (retries);
* two upstreams both receive traffic (round robin);
* a static route serves index.html;
* access logs are written when asked;
* a config Caddy refuses raises EdgeConfigRejected with Caddy's message, old routes keep serving;
* after kill -9 of Caddy, a fresh start resumes the autosaved routes before any push;
* supervise() restarts a killed Caddy and re-pushes the current routes;
* with the control plane SIGKILLed, Caddy keeps serving, and a new CaddyEdge adopts it (same pid).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from pathlib import Path

import httpx
import pytest

from kubidu.edge import CaddyEdge, EdgeConfigRejected, Route
from tests.helpers.ports import free_port
from tests.helpers.wait import wait_for_port

pytestmark = pytest.mark.anyio

HOST = "web-prod-demo.localhost"

UPSTREAM_SCRIPT = """
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

name, port = sys.argv[1], int(sys.argv[2])

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = name.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
"""

# Starts an edge, pushes one route, prints Caddy's pid, then idles until killed: a stand-in for a
# control plane that dies with SIGKILL.
CONTROL_PLANE_SCRIPT = """
import asyncio, sys, time
from pathlib import Path
from kubidu.edge import CaddyEdge, Route

async def main():
    edge = CaddyEdge(caddy_bin=None, state_dir=Path(sys.argv[1]),
                     http_port=int(sys.argv[2]), https_port=int(sys.argv[3]))
    await edge.start()
    await edge.apply([Route("svc-web", (sys.argv[4],), (sys.argv[5],))])
    print(edge.pid, flush=True)

asyncio.run(main())
time.sleep(3600)
"""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Upstream:
    """A stdlib HTTP server in its own process answering every GET with its name."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.port = free_port()
        argv = [sys.executable, "-c", UPSTREAM_SCRIPT, name, str(self.port)]
        self.process = subprocess.Popen(argv)
        wait_for_port(self.port)

    @property
    def dial(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        self.process.wait(timeout=10)


@pytest.fixture
def upstreams() -> Iterator[Callable[[str], Upstream]]:
    started: list[Upstream] = []

    def start(name: str) -> Upstream:
        started.append(Upstream(name))
        return started[-1]

    yield start
    for upstream in started:
        upstream.stop()


def _new_edge(state_dir: Path, http_port: int | None = None) -> CaddyEdge:
    return CaddyEdge(
        caddy_bin=None,
        state_dir=state_dir,
        http_port=http_port or free_port(),
        https_port=free_port(),
    )


@pytest.fixture
async def edge(tmp_path: Path) -> AsyncIterator[CaddyEdge]:
    edge = _new_edge(tmp_path / "edge")
    await edge.start()
    yield edge
    await edge.stop()


def _client(edge: CaddyEdge, limits: httpx.Limits | None = None) -> httpx.AsyncClient:
    port = edge.config_for([])["apps"]["http"]["http_port"]
    return httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", timeout=10, limits=limits or httpx.Limits()
    )


async def _get(edge: CaddyEdge, host: str = HOST, path: str = "/") -> httpx.Response:
    async with _client(edge) as client:
        return await client.get(path, headers={"Host": host})


async def _eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not await _safe(check):
        assert time.monotonic() < deadline, f"condition never held: {check.__name__}"
        await asyncio.sleep(0.1)


async def _safe(check: Callable[[], Awaitable[bool]]) -> bool:
    try:
        return await check()
    except httpx.HTTPError:
        return False


async def _steady_client(
    edge: CaddyEdge, stop: asyncio.Event, results: list[str], *, keep_alive: bool = True
) -> None:
    """Sequential GETs until ``stop``, over one kept-alive connection or a new one each time.

    Records each body, ``FAIL:`` and the reason, or ``RESENT``. Like a browser, the client
    resends a GET once when the server closed the connection without sending a single response
    byte (RFC 9112 §9.3.1 allows it for idempotent requests): a Caddy config reload swaps its
    HTTP servers and drops a few connections caught in the swap that way. A 5xx, a timeout or a
    second failure is never resent and counts as a failure.
    """
    limits = httpx.Limits(max_keepalive_connections=None if keep_alive else 0)
    async with _client(edge, limits=limits) as client:
        while not stop.is_set():
            results.extend(await _get_recording(client, resend=True))
            await asyncio.sleep(0.02)


async def _get_recording(client: httpx.AsyncClient, *, resend: bool) -> list[str]:
    try:
        response = await client.get("/", headers={"Host": HOST})
    except httpx.RemoteProtocolError as error:
        if not resend or "without sending a response" not in str(error):
            return [f"FAIL:{error!r}"]
        return ["RESENT", *await _get_recording(client, resend=False)]
    except httpx.HTTPError as error:
        return [f"FAIL:{error!r}"]
    return [response.text if response.status_code == 200 else f"FAIL:{response.status_code}"]


def _served(results: list[str]) -> list[str]:
    return [r for r in results if r != "RESENT"]


async def test_route_proxies_by_host_and_unknown_host_gets_404(
    edge: CaddyEdge, upstreams: Callable[[str], Upstream]
) -> None:
    a = upstreams("A")
    await edge.apply([Route("svc-web", (HOST,), (a.dial,))])
    response = await _get(edge)
    assert (response.status_code, response.text) == (200, "A")
    unknown = await _get(edge, host="nobody.localhost")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("text/plain")
    assert "no app" in unknown.text


async def test_switching_upstreams_loses_no_request(
    edge: CaddyEdge, upstreams: Callable[[str], Upstream]
) -> None:
    a, b = upstreams("A"), upstreams("B")
    await edge.apply([Route("svc-web", (HOST,), (a.dial,))])
    stop, reused, fresh = asyncio.Event(), list[str](), list[str]()
    clients = asyncio.gather(
        _steady_client(edge, stop, reused, keep_alive=True),
        _steady_client(edge, stop, fresh, keep_alive=False),
    )
    await asyncio.sleep(0.7)
    await edge.apply([Route("svc-web", (HOST,), (b.dial,))])
    await asyncio.sleep(0.3)  # drain: requests already sent to A finish
    a.stop()
    await asyncio.sleep(0.7)
    stop.set()
    await clients
    for results in (reused, fresh):
        served = _served(results)
        assert [r for r in served if r.startswith("FAIL")] == []
        assert len(served) >= 20 * 1.7 * 0.8
        switch = served.index("B")
        assert set(served[:switch]) == {"A"} and set(served[switch:]) == {"B"}
    # One reload: at most a couple of connections per client can be caught in the swap.
    assert reused.count("RESENT") + fresh.count("RESENT") <= 4


async def test_a_crashing_upstream_loses_no_request(
    edge: CaddyEdge, upstreams: Callable[[str], Upstream]
) -> None:
    a, b = upstreams("A"), upstreams("B")
    await edge.apply([Route("svc-web", (HOST,), (a.dial, b.dial))])
    stop, results = asyncio.Event(), list[str]()
    client = asyncio.create_task(_steady_client(edge, stop, results, keep_alive=False))
    await asyncio.sleep(0.5)
    a.stop(signal.SIGKILL)
    await asyncio.sleep(1.0)
    stop.set()
    await client
    assert [r for r in results if r.startswith("FAIL")] == []
    assert results[-5:] == ["B"] * 5


async def test_two_upstreams_both_get_traffic(
    edge: CaddyEdge, upstreams: Callable[[str], Upstream]
) -> None:
    a, b = upstreams("A"), upstreams("B")
    await edge.apply([Route("svc-web", (HOST,), (a.dial, b.dial))])
    bodies = [(await _get(edge)).text for _ in range(10)]
    assert set(bodies) == {"A", "B"}


async def test_static_route_serves_index_html(edge: CaddyEdge, tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<h1>hello static</h1>")
    await edge.apply([Route("svc-docs", ("docs-prod-demo.localhost",), static_root=site)])
    response = await _get(edge, host="docs-prod-demo.localhost")
    assert (response.status_code, response.text) == (200, "<h1>hello static</h1>")


async def test_access_log_records_requests(
    tmp_path: Path, upstreams: Callable[[str], Upstream]
) -> None:
    log = tmp_path / "access.log"
    edge = CaddyEdge(
        caddy_bin=None,
        state_dir=tmp_path / "edge",
        http_port=free_port(),
        https_port=free_port(),
        access_log=log,
    )
    await edge.start()
    try:
        await edge.apply([Route("svc-web", (HOST,), (upstreams("A").dial,))])
        assert (await _get(edge, path="/logged-path")).status_code == 200
        await _eventually(lambda: _contains(log, "/logged-path"))
    finally:
        await edge.stop()


async def _contains(path: Path, text: str) -> bool:
    return path.exists() and text in path.read_text()


async def test_refused_config_raises_caddys_message_and_keeps_old_routes(
    edge: CaddyEdge, tmp_path: Path, upstreams: Callable[[str], Upstream]
) -> None:
    await edge.apply([Route("svc-web", (HOST,), (upstreams("A").dial,))])
    with _bound_port() as taken:
        # Same Caddy (same state dir), but a config asking for a port someone else holds.
        wrong = _new_edge(edge.state_dir, http_port=taken)
        with pytest.raises(EdgeConfigRejected, match="address already in use"):
            await wrong.apply([])
    assert (await _get(edge)).text == "A"


@contextlib.contextmanager
def _bound_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("0.0.0.0", 0))
        sock.listen()
        yield sock.getsockname()[1]


async def test_restarted_caddy_resumes_its_routes_before_any_push(
    edge: CaddyEdge, upstreams: Callable[[str], Upstream]
) -> None:
    await edge.apply([Route("svc-web", (HOST,), (upstreams("A").dial,))])
    old_pid = edge.pid
    assert old_pid is not None
    os.kill(old_pid, signal.SIGKILL)
    await _eventually(lambda: _not(edge.healthy))
    await edge.start()
    assert edge.pid not in (None, old_pid)
    assert (await _get(edge)).text == "A"


async def _not(check: Callable[[], Awaitable[bool]]) -> bool:
    return not await check()


async def test_supervise_restarts_a_killed_caddy_and_repushes_routes(
    edge: CaddyEdge, upstreams: Callable[[str], Upstream]
) -> None:
    a, b = upstreams("A"), upstreams("B")
    current = [Route("svc-web", (HOST,), (a.dial,))]

    async def routes() -> Sequence[Route]:
        return current

    supervisor = asyncio.create_task(edge.supervise(routes, interval_s=0.2))
    try:
        await _eventually(lambda: _serves(edge, "A"))
        old_pid = edge.pid
        assert old_pid is not None
        os.kill(old_pid, signal.SIGKILL)
        # Caddy resumes its autosave (A) on restart; B shows supervise pushed the new routes.
        current = [Route("svc-web", (HOST,), (b.dial,))]
        await _eventually(lambda: _serves(edge, "B"))
        assert edge.pid not in (None, old_pid)
    finally:
        supervisor.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await supervisor


async def _serves(edge: CaddyEdge, body: str) -> bool:
    return (await _get(edge)).text == body


async def test_edge_serves_while_control_plane_is_down_and_is_adopted(
    tmp_path: Path, upstreams: Callable[[str], Upstream]
) -> None:
    a = upstreams("A")
    state_dir, http_port, https_port = tmp_path / "edge", free_port(), free_port()
    argv = [sys.executable, "-c", CONTROL_PLANE_SCRIPT, str(state_dir)]
    argv += [str(http_port), str(https_port), HOST, a.dial]
    control_plane = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    edge = CaddyEdge(
        caddy_bin=None, state_dir=state_dir, http_port=http_port, https_port=https_port
    )
    try:
        assert control_plane.stdout is not None
        caddy_pid = int(control_plane.stdout.readline())
        control_plane.send_signal(signal.SIGKILL)
        control_plane.wait(timeout=10)
        assert (await _get(edge)).text == "A"
        await edge.start()
        assert edge.pid == caddy_pid
        await edge.apply([Route("svc-web", (HOST,), (a.dial,))])
        assert edge.pid == caddy_pid
        assert (await _get(edge)).text == "A"
    finally:
        control_plane.kill()
        control_plane.wait(timeout=10)
        await edge.stop()
