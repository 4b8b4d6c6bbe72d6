"""A real ACME CA (Pebble) and a real DNS server (pebble-challtestsrv) for the domain tests.

Both come from Debian's ``pebble`` package. :func:`make_tls_files` writes Pebble's own TLS
certificate (a throwaway CA and a leaf for ``localhost``/``127.0.0.1``, made with
``cryptography``); Kubidu trusts that CA through ``KUBIDU_ACME_CA_ROOT``.

* :class:`ChallTestSrv` — the DNS server Kubidu's verifier and Pebble's validator both query;
  its management API sets A, CNAME and TXT records (``add_a``, ``set_cname``, ``set_txt``).
* :class:`Pebble` — the CA on free ports; ``http_port``/``tls_port`` are where it connects
  to validate HTTP-01 and TLS-ALPN-01 challenges, i.e. the edge's HTTP and HTTPS ports.
  :meth:`Pebble.issuing_root` is the root its certificates chain to (a fresh one per start).

Every process started here is stopped by :meth:`stop` (fixtures call it in ``finally``).
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import shutil
import ssl
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.helpers.ports import free_port
from tests.helpers.strict import missing_dependency
from tests.helpers.wait import wait_for, wait_for_port


def require_pebble() -> None:
    """Skip (fail in strict mode) when Debian's pebble package is not installed."""
    for program in ("pebble", "pebble-challtestsrv"):
        if shutil.which(program) is None:
            missing_dependency(f"{program} not found; run scripts/install-system-deps.sh")


@dataclass(frozen=True)
class TlsFiles:
    ca_cert: Path
    cert: Path
    key: Path


def make_tls_files(directory: Path) -> TlsFiles:
    """A CA and a ``localhost`` leaf it signed, for Pebble's HTTPS listeners."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubidu test pebble CA")])
    ca = (
        _builder(ca_name, ca_name, ca_key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    leaf = (
        _builder(leaf_name, ca_name, key.public_key())
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    files = TlsFiles(directory / "ca.pem", directory / "cert.pem", directory / "key.pem")
    files.ca_cert.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files.cert.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    for path in (files.ca_cert, files.cert, files.key):
        path.chmod(0o644)
    return files


def _builder(
    subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
    )


@dataclass
class ChallTestSrv:
    """pebble-challtestsrv as a DNS server on 127.0.0.1 (UDP and TCP) with its management API."""

    log_path: Path
    dns_port: int = field(default_factory=free_port)
    management_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def resolver(self) -> str:
        return f"127.0.0.1:{self.dns_port}"

    def start(self) -> None:
        argv = [
            "pebble-challtestsrv",
            "-dns01", f"127.0.0.1:{self.dns_port}",
            "-management", f"127.0.0.1:{self.management_port}",
            "-http01", "", "-https01", "", "-tlsalpn01", "",
            "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "",
        ]  # fmt: skip
        self.process = _spawn(argv, self.log_path, os.environ.copy())
        wait_for_port(self.management_port, timeout=10)

    def stop(self) -> None:
        _stop(self.process)
        self.process = None

    def _post(self, path: str, body: dict[str, object]) -> None:
        url = f"http://127.0.0.1:{self.management_port}{path}"
        httpx.post(url, json=body, timeout=5).raise_for_status()

    def add_a(self, host: str, *addresses: str) -> None:
        self._post("/add-a", {"host": _fqdn(host), "addresses": list(addresses)})

    def clear_a(self, host: str) -> None:
        self._post("/clear-a", {"host": _fqdn(host)})

    def set_cname(self, host: str, target: str) -> None:
        self._post("/set-cname", {"host": _fqdn(host), "target": _fqdn(target)})

    def clear_cname(self, host: str) -> None:
        self._post("/clear-cname", {"host": _fqdn(host)})

    def set_txt(self, host: str, value: str) -> None:
        self._post("/set-txt", {"host": _fqdn(host), "value": value})

    def clear_txt(self, host: str) -> None:
        self._post("/clear-txt", {"host": _fqdn(host)})


@dataclass
class Pebble:
    """Pebble on free ports, validating challenges on ``http_port``/``tls_port`` via ``dns``."""

    work_dir: Path
    tls: TlsFiles
    dns: ChallTestSrv
    http_port: int
    tls_port: int
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    management_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def directory_url(self) -> str:
        return f"https://127.0.0.1:{self.port}/dir"

    def start(self) -> None:
        config = self.work_dir / "pebble-config.json"
        config.write_text(json.dumps({"pebble": self._config()}))
        env = {**os.environ, "PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0", **self.env}
        argv = ["pebble", "-config", str(config), "-dnsserver", self.dns.resolver]
        self.process = _spawn(argv, self.work_dir / "pebble.log", env)
        wait_for(self._ready, 15, what="pebble's directory", ignore=(httpx.HTTPError,))

    def _config(self) -> dict[str, object]:
        return {
            "listenAddress": f"127.0.0.1:{self.port}",
            "managementListenAddress": f"127.0.0.1:{self.management_port}",
            "certificate": str(self.tls.cert),
            "privateKey": str(self.tls.key),
            "httpPort": self.http_port,
            "tlsPort": self.tls_port,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": False,
        }

    def _ready(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"pebble exited: {self.log()}")
        response = httpx.get(self.directory_url, verify=self._trust(), timeout=2)
        return response.status_code == 200

    def _trust(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.tls.ca_cert))

    def issuing_root(self) -> str:
        """PEM of the root every certificate of this Pebble run chains to."""
        url = f"https://127.0.0.1:{self.management_port}/roots/0"
        response = httpx.get(url, verify=self._trust(), timeout=5)
        response.raise_for_status()
        return response.text

    def log(self) -> str:
        path = self.work_dir / "pebble.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop(self) -> None:
        _stop(self.process)
        self.process = None


def _fqdn(host: str) -> str:
    return host if host.endswith(".") else host + "."


def _spawn(argv: list[str], log_path: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with log_path.open("ab") as log:
        return subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
        )


def _stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)
