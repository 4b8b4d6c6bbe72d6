"""A whole HTTPS stack for domain tests: pebble-challtestsrv (DNS), Pebble (ACME) and a real
``kubidu server`` pointed at both, with its edge's ports being where Pebble validates.

:func:`acme_stack` is a context manager used by module-scoped fixtures (e2e tests, bench/tls.py):
it yields an :class:`AcmeStack` and on exit stops every process it started.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.helpers.apps import write_stdlib_app
from tests.helpers.pebble import ChallTestSrv, Pebble, make_tls_files, require_pebble
from tests.helpers.server import KubiduServer
from tests.helpers.wait import wait_for


@dataclass
class AcmeStack:
    server: KubiduServer
    pebble: Pebble
    dns: ChallTestSrv
    work: Path

    def deploy_app(self, name: str, version: str = "v1") -> tuple[Path, str]:
        """Deploy a small app as service ``name``; its directory and generated hostname."""
        app = write_stdlib_app(self.work / name, version=version)
        self.server.cli("init", "--project", "dom", "--service", name, cwd=app)
        self.server.cli("deploy", cwd=app)
        status = self.server.cli_json("status", cwd=app)
        return app, str(status["hostname"])

    def create_records(self, domain: dict[str, object]) -> None:
        """Create in DNS exactly the records ``kubidu domains add`` asked for."""
        for record in domain["records"]:  # type: ignore[attr-defined]
            kind, name, value = record["type"], record["name"], record["value"]
            if kind == "CNAME":
                self.dns.set_cname(name, value)
            elif kind == "TXT":
                self.dns.set_txt(name, value)
            else:
                self.dns.add_a(name, value)

    def domain(self, app: Path, hostname: str) -> dict[str, object]:
        items = self.server.cli_json("domains", "list", cwd=app)
        return next(d for d in items if d["hostname"] == hostname)

    def wait_status(
        self, app: Path, hostname: str, status: str, timeout: float = 60
    ) -> dict[str, object]:
        def reached() -> dict[str, object] | None:
            domain = self.domain(app, hostname)
            return domain if domain["status"] == status else None

        try:
            return wait_for(reached, timeout, interval=0.2, what=f"{hostname} to be {status}")
        except TimeoutError as error:
            raise AssertionError(
                f"{error}; now {self.domain(app, hostname)}\n{self.logs()}"
            ) from None

    def logs(self) -> str:
        """The tails of Caddy's and Pebble's logs, for failure messages."""
        caddy = self.server.data_dir / "edge" / "caddy.log"
        text = caddy.read_text(errors="replace")[-5000:] if caddy.exists() else ""
        return f"--- caddy.log ---\n{text}\n--- pebble.log ---\n{self.pebble.log()[-2000:]}"

    def curl_https(self, hostname: str, *extra: str) -> subprocess.CompletedProcess[str]:
        """curl https://HOST/ through the edge, trusting only Pebble's issuing root."""
        root = self.work / "pebble-root.pem"
        root.write_text(self.pebble.issuing_root())
        port = self.server.https_port
        argv = ["curl", "-sS", "--max-time", "10", "--cacert", str(root)]
        argv += ["--resolve", f"{hostname}:{port}:127.0.0.1", *extra]
        argv.append(f"https://{hostname}:{port}/")
        return subprocess.run(argv, capture_output=True, text=True, check=False)


@contextlib.contextmanager
def acme_stack(*, pebble_env: dict[str, str] | None = None) -> Iterator[AcmeStack]:
    require_pebble()
    work = Path(tempfile.mkdtemp(prefix="kubidu-acme-", dir="/tmp"))
    work.chmod(0o711)
    dns = ChallTestSrv(log_path=work / "dns.log")
    home = work / "home"
    home.mkdir()
    server = KubiduServer(data_dir=work / "data", home=home)
    tls = make_tls_files(work / "tls")
    pebble = Pebble(
        work_dir=work,
        tls=tls,
        dns=dns,
        http_port=server.http_port,
        tls_port=server.https_port,
        env=pebble_env or {},
    )
    server.extra_env.update(
        {
            "KUBIDU_ACME_CA": pebble.directory_url,
            "KUBIDU_ACME_CA_ROOT": str(tls.ca_cert),
            "KUBIDU_ACME_EMAIL": "ops@example.com",
            "KUBIDU_DNS_RESOLVER": dns.resolver,
            "KUBIDU_PUBLIC_IPS": "127.0.0.1",
        }
    )
    try:
        dns.start()
        pebble.start()
        server.start()
        yield AcmeStack(server, pebble, dns, work)
    finally:
        server.cleanup()
        pebble.stop()
        dns.stop()
        shutil.rmtree(work, ignore_errors=True)


def issuer_of(curl_verbose_stderr: str) -> str:
    """The issuer line curl -v prints for the server certificate."""
    for line in curl_verbose_stderr.splitlines():
        if "issuer:" in line:
            return line.split("issuer:", 1)[1].strip()
    return ""


def wait_seconds(start: float) -> float:
    return round(time.monotonic() - start, 3)
