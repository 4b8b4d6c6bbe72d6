"""A real ``kubidu server`` for end-to-end tests, started as a subprocess.

:class:`KubiduServer` starts the control plane on free ports with its own data dir, runs the
real ``kubidu`` CLI against it, fetches apps through the real Caddy edge, can ``kill -9`` and
restart the control plane, and on cleanup kills everything that runs from its data dir
(supervisors, apps, Caddy) so no test leaves processes behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

from tests.helpers.ports import free_port
from tests.helpers.wait import wait_for

KUBIDU = str(Path(sys.executable).parent / "kubidu")


@dataclass
class KubiduServer:
    data_dir: Path
    home: Path
    database_url: str | None = None
    api_port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    https_port: int = field(default_factory=free_port)
    extra_env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def token(self) -> str:
        return (self.data_dir / "admin-token").read_text().strip()

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KUBIDU_")}
        env.update(
            {
                "KUBIDU_DATA_DIR": str(self.data_dir),
                "KUBIDU_LISTEN": f"127.0.0.1:{self.api_port}",
                "KUBIDU_HTTP_PORT": str(self.http_port),
                "KUBIDU_HTTPS_PORT": str(self.https_port),
                "KUBIDU_DRAIN_SECONDS": "1",
                "KUBIDU_HEALTH_TIMEOUT_SECONDS": "20",
                **self.extra_env,
            }
        )
        if self.database_url:
            env["KUBIDU_DATABASE_URL"] = self.database_url
        return env

    def start(self) -> None:
        log = (self.home / "server.log").open("ab")
        self.process = subprocess.Popen(
            [KUBIDU, "server"], env=self.env(), stdout=log, stderr=subprocess.STDOUT, cwd=self.home
        )
        wait_for(self._healthy, 60, what="kubidu server /healthz")

    def _healthy(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"kubidu server exited:\n{self.server_log()}")
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def server_log(self) -> str:
        path = self.home / "server.log"
        return path.read_text(errors="replace")[-6000:] if path.exists() else ""

    def kill9(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def cli(
        self, *args: str, cwd: Path | None = None, check: bool = True, timeout: float = 240
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [KUBIDU, *args],
            cwd=cwd or self.home,
            env=self.cli_env(),
            text=True,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"kubidu {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stdout}\n{result.stderr}\n--- server log ---\n"
                f"{self.server_log()}"
            )
        return result

    def cli_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KUBIDU_")}
        env.update(
            {
                "KUBIDU_URL": self.url,
                "KUBIDU_TOKEN": self.token,
                "XDG_CONFIG_HOME": str(self.home / "config"),
            }
        )
        return env

    @contextlib.contextmanager
    def cli_process(self, *args: str, cwd: Path) -> Iterator[LineReader]:
        """A long-running CLI command (``logs -f``) whose output lines can be awaited."""
        process = subprocess.Popen(
            [KUBIDU, *args],
            cwd=cwd,
            env=self.cli_env(),
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        reader = LineReader(process)
        try:
            yield reader
        finally:
            process.terminate()
            process.wait(10)

    def cli_json(self, *args: str, cwd: Path | None = None) -> Any:
        return json.loads(self.cli("--json", *args, cwd=cwd).stdout)

    def api(
        self, method: str, path: str, *, token: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token or self.token}"}
        return httpx.request(
            method, f"{self.url}/api/v1{path}", headers=headers, timeout=30, **kwargs
        )

    def fetch(self, hostname: str, path: str = "/", timeout: float = 5) -> httpx.Response:
        """GET through the Caddy edge, as a browser resolving *.localhost would."""
        return httpx.get(
            f"http://127.0.0.1:{self.http_port}{path}", headers={"Host": hostname}, timeout=timeout
        )

    def cleanup(self) -> None:
        self.stop()
        kill_processes_under(self.data_dir)


class LineReader:
    """Collects a process's output lines in a thread, so tests can wait for one."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._thread.start()

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self.lines.append(line)

    def line_containing(self, text: str) -> str | None:
        return next((line for line in list(self.lines) if text in line), None)


def traversable_dir() -> Path:
    """A fresh dir whose ancestors other users may traverse (pytest's tmp_path is 0700),
    as the team accounts that run apps need to reach their releases."""
    path = Path(tempfile.mkdtemp(prefix="kubidu-e2e-", dir="/tmp"))
    path.chmod(0o711)
    return path


@contextlib.contextmanager
def running_server(home: Path, **options: Any) -> Iterator[KubiduServer]:
    """A started server in a fresh traversable data dir; everything it ran is killed and its
    data dir removed afterwards. ``options`` are :class:`KubiduServer` fields."""
    server = KubiduServer(data_dir=traversable_dir() / "data", home=home, **options)
    try:
        server.start()
        yield server
    finally:
        server.cleanup()
        shutil.rmtree(server.data_dir.parent, ignore_errors=True)


def kill_processes_under(data_dir: Path) -> None:
    """Kill every process whose command line or working dir lies under ``data_dir``."""
    marker = str(data_dir)
    victims = [p for p in psutil.process_iter(["cmdline", "cwd"]) if _mentions(p, marker)]
    for proc in victims:
        try:
            os.killpg(proc.pid, signal.SIGKILL) if os.getpgid(proc.pid) == proc.pid else None
            proc.kill()
        except (psutil.Error, ProcessLookupError, PermissionError):
            pass
    psutil.wait_procs(victims, timeout=5)
    time.sleep(0.1)


def _mentions(proc: psutil.Process, marker: str) -> bool:
    try:
        cmdline = " ".join(proc.info.get("cmdline") or [])
        return marker in cmdline or (proc.info.get("cwd") or "").startswith(marker)
    except (psutil.Error, TypeError):
        return False
