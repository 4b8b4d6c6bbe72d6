"""The composition root: the one place that picks implementations from settings.

:func:`assemble` builds the whole control plane (store, keyring, runtime, builder, edge,
pipeline, workers, reconciler, API and dashboard) and wires every dependency explicitly as
keyword arguments. ``server.py`` runs what this returns; tests assemble their own variants.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docker import APIClient
from docker.errors import DockerException
from fastapi import FastAPI

from kubidu.api import github as github_api
from kubidu.api import webhooks as webhooks_api
from kubidu.api.app import API_PREFIX, create_api
from kubidu.api.git import create_git_router
from kubidu.api.uploads import UploadLimits
from kubidu.builds.builder import BUILD_TIMEOUT_S, Builder
from kubidu.builds.docker_image import DockerImageBuilder
from kubidu.builds.dockerfiles import BaseImages
from kubidu.control.artifacts import ArtifactPruner
from kubidu.control.deploy import DeployPipeline, DeployTiming, LogSink
from kubidu.control.domains import DomainVerifier
from kubidu.control.github import GitHubJobs
from kubidu.control.logship import LogShipper
from kubidu.control.previews import PreviewJobs
from kubidu.control.reconciler import Reconciler
from kubidu.control.retention import Housekeeper, RetentionPolicy
from kubidu.control.routing import RouteTable
from kubidu.control.worker import Workers
from kubidu.dns import DnsChecker
from kubidu.edge.caddy import CaddyEdge
from kubidu.edge.config import AcmeSettings
from kubidu.git.repos import GitRepos
from kubidu.logs.db import DatabaseLogStore
from kubidu.logs.hub import LogHub
from kubidu.logs.limiter import LogLimiter
from kubidu.runtimes.base import Runtime
from kubidu.security.crypto import Keyring, decode_key, load_or_create_key_file
from kubidu.services import auth
from kubidu.services.context import DomainSetup, Platform
from kubidu.settings import Settings
from kubidu.store.db import Database
from kubidu.web.app import create_web_router


@dataclass
class ControlPlane:
    settings: Settings
    db: Database
    platform: Platform
    edge: CaddyEdge
    routes: RouteTable
    workers: Workers
    reconciler: Reconciler
    shipper: LogShipper
    housekeeper: Housekeeper
    app: FastAPI
    domain_verifier: DomainVerifier | None = None


def prepare_data_dir(data_dir: Path) -> None:
    """Create the data dir. Traversable (0711) so team accounts reach their own releases,
    never listable; secrets inside are 0600 and private subdirectories 0700."""
    data_dir.mkdir(parents=True, exist_ok=True)
    data_dir.chmod(0o711)
    # "db" is 0700 because SQLite creates its -wal/-shm files with the process's umask.
    for name in ("db", "uploads", "edge", "work", "git"):
        (data_dir / name).mkdir(mode=0o700, exist_ok=True)
    for name in ("releases", "cache"):
        (data_dir / name).mkdir(mode=0o711, exist_ok=True)


def check_traversable(data_dir: Path) -> None:
    """With isolation, team accounts reach their releases through every ancestor dir."""
    for directory in (data_dir, *data_dir.parents):
        if not directory.stat().st_mode & 0o001:
            raise SystemExit(
                f"{directory} is not traversable by other users, so apps running as their "
                "team's account could not reach their releases: choose a data dir outside it "
                "(--data-dir) or chmod o+x it"
            )


def load_keyring(settings: Settings) -> Keyring:
    if settings.master_key:
        return Keyring.from_keys(decode_key(settings.master_key))
    return Keyring.from_keys(load_or_create_key_file(settings.data_dir / "master.key"))


def open_database(settings: Settings) -> Database:
    db = Database(settings.effective_database_url)
    db.migrate()
    return db


def make_runtime(settings: Settings) -> Runtime:
    if settings.runtime == "process":
        from kubidu.runtimes.process import ProcessRuntime

        root = settings.data_dir / "runtime"
        return ProcessRuntime(
            state_dir=root / "state", log_dir=root / "logs", isolation=settings.isolation_enabled
        )
    if settings.runtime == "docker":
        from kubidu.runtimes.docker import DockerRuntime
        from kubidu.runtimes.docker.labels import instance_for

        return DockerRuntime(
            api=docker_api(settings, timeout=120.0),
            log_dir=settings.data_dir / "runtime" / "logs",
            instance=instance_for(settings.data_dir),
        )
    raise SystemExit(f"runtime {settings.runtime!r} is not available yet; use --runtime process")


def docker_api(settings: Settings, *, timeout: float) -> APIClient:
    """A client of the Docker Engine; the server refuses to start without a reachable one."""
    try:
        return APIClient(base_url=settings.docker_host, version="auto", timeout=int(timeout))
    except DockerException as exc:
        raise SystemExit(
            f"--runtime docker: Docker Engine not reachable at {settings.docker_host}: {exc}"
        ) from exc


def make_builder(settings: Settings) -> Builder:
    """Release directories for the process runtime; images (with the same limits) for docker."""
    common: dict[str, Any] = {
        "releases_dir": settings.data_dir / "releases",
        "cache_dir": settings.data_dir / "cache",
        "work_dir": settings.data_dir / "work",
        "python": settings.effective_app_python,
        "max_bytes": settings.max_upload_mb * 10 << 20,
        "max_files": settings.max_upload_files,
    }
    if settings.runtime != "docker":
        return Builder(**common)
    return DockerImageBuilder(
        api=docker_api(settings, timeout=BUILD_TIMEOUT_S),
        bases=BaseImages(python=settings.docker_python_image, node=settings.docker_node_image),
        **common,
    )


def acme_settings(settings: Settings) -> AcmeSettings:
    """ACME for custom domains; Caddy asks the control plane (on loopback) before each order."""
    host = settings.listen_host
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 - a wildcard listen, mapped to loopback
        host = "127.0.0.1"
    return AcmeSettings(
        ca_directory=settings.effective_acme_ca,
        email=settings.acme_email,
        ca_root=settings.acme_ca_root,
        ask_url=f"http://{host}:{settings.listen_port}/api/v1/edge/ask",
    )


def write_admin_credentials(settings: Settings, db: Database) -> None:
    """First start only: the admin's API token and dashboard password, each mode 0600."""
    created = auth.ensure_admin(db)
    if created is None:
        return
    for name, secret in (("admin-token", created.token), ("admin-password", created.password)):
        path = settings.data_dir / name
        path.unlink(missing_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secret + "\n")


def assemble(settings: Settings) -> ControlPlane:
    prepare_data_dir(settings.data_dir)
    if settings.isolation_enabled:
        check_traversable(settings.data_dir)
    db = open_database(settings)
    keyring = load_keyring(settings)
    write_admin_credentials(settings, db)
    runtime = make_runtime(settings)
    logs = LogSink(store=DatabaseLogStore(db=db), hub=LogHub())
    edge = CaddyEdge(
        caddy_bin=Path(settings.caddy_bin) if settings.caddy_bin else None,
        state_dir=settings.data_dir / "edge",
        http_port=settings.http_port,
        https_port=settings.https_port,
        acme=acme_settings(settings),
    )
    routes = RouteTable(db=db, runtime=runtime, apply=edge.apply)
    verifier = DomainVerifier(
        db=db,
        dns=DnsChecker(resolver=settings.dns_resolver),
        edge=edge,
        sync_routes=routes.sync,
        public_ips=settings.public_ip_list,
    )
    busy: set[str] = set()
    builder = make_builder(settings)
    workers = _workers(settings, db, keyring, runtime, routes, busy, logs, builder)
    platform = Platform(
        db=db,
        keyring=keyring,
        runtime=runtime,
        base_domain=settings.base_domain,
        http_port=settings.http_port,
        uploads_dir=settings.data_dir / "uploads",
        logs=logs.store,
        log_hub=logs.hub,
        wake_workers=workers.wake,
        domains=DomainSetup(
            dns=DnsChecker(resolver=settings.dns_resolver),
            public_ips=settings.public_ip_list,
            wake_verifier=verifier.wake,
        ),
    )
    _add_github_jobs(settings, platform, routes, workers)
    reconciler = Reconciler(
        db=db,
        keyring=keyring,
        runtime=runtime,
        routes=routes,
        isolation=settings.isolation_enabled,
        health_timeout_s=settings.health_timeout_seconds,
        busy=busy,
    )
    return ControlPlane(
        settings=settings,
        db=db,
        platform=platform,
        edge=edge,
        routes=routes,
        workers=workers,
        reconciler=reconciler,
        shipper=_shipper(settings, runtime, logs),
        housekeeper=_housekeeper(settings, db, logs, builder),
        app=_app(settings, platform),
        domain_verifier=verifier,
    )


def _shipper(settings: Settings, runtime: Runtime, logs: LogSink) -> LogShipper:
    limiter = LogLimiter(rate=settings.log_rate_per_service, burst=settings.log_burst_per_service)
    return LogShipper(runtime=runtime, store=logs.store, hub=logs.hub, limiter=limiter)


def _housekeeper(settings: Settings, db: Database, logs: LogSink, builder: Builder) -> Housekeeper:
    pruner = ArtifactPruner(db=db, discard=builder.discard, keep=settings.keep_artifacts)
    policy = RetentionPolicy(
        log_days=settings.log_retention_days, lines_per_service=settings.log_lines_per_service
    )
    return Housekeeper(store=logs.store, pruner=pruner, policy=policy)


def _workers(
    settings: Settings,
    db: Database,
    keyring: Keyring,
    runtime: Runtime,
    routes: RouteTable,
    busy: set[str],
    logs: LogSink,
    builder: Builder,
) -> Workers:
    pipeline = DeployPipeline(
        db=db,
        keyring=keyring,
        runtime=runtime,
        builder=builder,
        routes=routes,
        logs=logs,
        timing=DeployTiming(
            drain_s=settings.drain_seconds, health_timeout_s=settings.health_timeout_seconds
        ),
        isolation=settings.isolation_enabled,
        busy=busy,
    )

    async def deploy(payload: dict[str, object]) -> None:
        await pipeline.run(str(payload["deployment_id"]))

    return Workers(db=db, handlers={"deploy": deploy})


def _app(settings: Settings, platform: Platform) -> FastAPI:
    app = create_api(
        platform=platform,
        upload_limits=UploadLimits(
            max_bytes=settings.max_upload_mb << 20, max_files=settings.max_upload_files
        ),
    )
    app.include_router(
        create_web_router(
            platform=platform,
            secure_cookies=settings.secure_cookies,
            public_url=settings.public_url,
        )
    )
    repos = GitRepos(root=settings.data_dir / "git", max_push_mb=settings.max_upload_mb)
    app.include_router(create_git_router(repos=repos))
    for router in (github_api.router, webhooks_api.router):
        app.include_router(router, prefix=API_PREFIX)
    return app


def _add_github_jobs(
    settings: Settings, platform: Platform, routes: RouteTable, workers: Workers
) -> None:
    """The GitHub integration's jobs, and its hook on every finished deploy (PR comments)."""
    github_jobs = GitHubJobs(
        platform=platform, api_url=settings.github_api_url, scratch=settings.data_dir / "work"
    )
    previews = PreviewJobs(
        platform=platform, runtime=platform.runtime, routes=routes, github_jobs=github_jobs
    )
    handlers = {**github_jobs.handlers(), "github.preview": previews.handle}
    deploy = workers.handlers["deploy"]

    async def deploy_then_report(payload: dict[str, object]) -> None:
        await deploy(payload)
        await github_jobs.after_deploy(str(payload["deployment_id"]))

    workers.handlers.update(handlers, deploy=deploy_then_report)
