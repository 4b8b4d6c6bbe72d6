"""Pure generation of Caddy's JSON config from :class:`~kubidu.edge.routes.Route` values.

``CaddyEdge`` (``caddy.py``) calls :func:`build_config` and pushes the result whole with
``POST /load``; unit tests call it directly. No I/O here: the same routes always give the same
JSON, so an unchanged config can be recognised by :func:`config_digest` and not pushed again.

Shape: one HTTP server on ``:<http_port>``; one route per service matching its hostnames
exactly; a final catch-all answering 404. With ACME settings, a second server on
``:<https_port>`` serves the same routes over TLS, and HTTP requests for the hostnames a route
lists in ``https_redirect`` (custom domains whose certificate is active) are redirected there.
Every TLS decision lives in :func:`_tls_plan`.

Certificates are obtained *on demand*: on the first TLS handshake for a name, Caddy asks the
control plane's ``ask`` endpoint whether the name may have one (only verified custom domains and
the platform's own hostnames may) and, if so, runs the ACME order. There is never an open
on-demand policy: without an ``ask_url`` the config is refused. Caddy keeps the certificates in
its data dir and renews them itself. Hazard: a config reload aborts ACME orders in flight, so
callers batch route changes and :meth:`CaddyEdge.apply` skips pushing an unchanged config.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubidu.edge.routes import Route

SERVER_NAME = "kubidu"
TLS_SERVER_NAME = "kubidu_tls"
ACCESS_LOGGER = "kubidu_access"
NOT_FOUND_BODY = "404 Not Found: no app is served at this address.\n"
UNAVAILABLE_BODY = "503 Service Unavailable: the app has no running replica.\n"

# Retries are what make an upstream switch or a crashed replica invisible to clients: a request
# whose dial fails is retried on another upstream for up to TRY_DURATION, and passive health
# checks keep a failed upstream out of rotation for FAIL_DURATION.
TRY_DURATION = "3s"
TRY_INTERVAL = "100ms"
FAIL_DURATION = "2s"
# Bounds how long Caddy waits for in-flight requests when a reload retires the old config.
GRACE_PERIOD = "10s"


@dataclass(frozen=True)
class AcmeSettings:
    """ACME settings (KUBIDU_ACME_*): the CA's directory URL, the account e-mail, a PEM root to
    trust for the CA's own HTTPS (Pebble's), and the control plane's ``ask`` endpoint."""

    ca_directory: str
    email: str | None = None
    ca_root: Path | None = None
    ask_url: str | None = None


def build_config(
    routes: Sequence[Route],
    *,
    http_port: int,
    https_port: int,
    admin_socket: Path,
    acme: AcmeSettings | None = None,
    access_log: Path | None = None,
) -> dict[str, Any]:
    """The complete Caddy config serving ``routes``; admin API only on ``admin_socket``."""
    service_routes = _service_routes(routes)
    server: dict[str, Any] = {
        "listen": [f":{http_port}"],
        "routes": [*service_routes, _not_found_route()],
        "automatic_https": {"disable": True},
    }
    servers = {SERVER_NAME: server}
    tls_server, tls_apps = _tls_plan(acme, https_port=https_port)
    if tls_server is not None:
        server["routes"][:0] = _redirect_routes(routes, https_port)
        tls_server["routes"] = [*service_routes, _not_found_route()]
        servers[TLS_SERVER_NAME] = tls_server
    config: dict[str, Any] = {"admin": _admin(admin_socket)}
    if access_log is not None:
        for each in servers.values():
            each["logs"] = {"default_logger_name": ACCESS_LOGGER}
        config["logging"] = _access_logging(access_log)
    http_app = {
        "http_port": http_port,
        "https_port": https_port,
        "grace_period": GRACE_PERIOD,
        "servers": servers,
    }
    config["apps"] = {"http": http_app, **tls_apps}
    return config


def config_digest(config: Mapping[str, Any]) -> str:
    """A stable fingerprint of a config, to skip pushing one Caddy already has."""
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _tls_plan(
    acme: AcmeSettings | None, *, https_port: int
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """Every TLS decision: the HTTPS server (without its routes) and the ``tls`` app.

    Without ACME settings everything is plain HTTP. Caddy's *automatic* HTTPS stays off on
    both servers in every case: it would manage certificates for every routed name (including
    ``*.localhost``, with an internal CA) and redirect all of them; instead certificates come
    only from the on-demand policy, gated by ``acme.ask_url``, and redirects are explicit.
    """
    if acme is None:
        return None, {}
    if not acme.ask_url:
        raise ValueError("ACME needs an ask endpoint: an open on-demand TLS policy is refused")
    server: dict[str, Any] = {
        "listen": [f":{https_port}"],
        "tls_connection_policies": [{}],
        "automatic_https": {"disable": True},
    }
    automation = {
        "policies": [{"issuers": [_acme_issuer(acme)], "on_demand": True}],
        "on_demand": {"permission": {"module": "http", "endpoint": acme.ask_url}},
    }
    return server, {"tls": {"automation": automation}}


def _acme_issuer(acme: AcmeSettings) -> dict[str, Any]:
    issuer: dict[str, Any] = {"module": "acme", "ca": acme.ca_directory}
    if acme.email:
        issuer["email"] = acme.email
    if acme.ca_root is not None:
        issuer["trusted_roots_pem_files"] = [str(acme.ca_root)]
    return issuer


def _redirect_routes(routes: Sequence[Route], https_port: int) -> list[dict[str, Any]]:
    hosts = sorted({h.lower() for route in routes for h in route.https_redirect})
    if not hosts:
        return []
    port = "" if https_port == 443 else f":{https_port}"
    location = f"https://{{http.request.host}}{port}{{http.request.uri}}"
    redirect = {
        "handler": "static_response",
        "status_code": 308,
        "headers": {"Location": [location]},
    }
    return [{"match": [{"host": hosts}], "handle": [redirect], "terminal": True}]


def _admin(socket_path: Path) -> dict[str, Any]:
    # Never a TCP port: anyone who can reach the admin API can rewrite every route.
    return {"listen": f"unix/{socket_path}", "config": {"persist": True}}


def _service_routes(routes: Sequence[Route]) -> list[dict[str, Any]]:
    seen: dict[str, str] = {}
    result = []
    for route in sorted(routes, key=lambda r: r.service_key):
        hosts = sorted({h.lower() for h in route.hostnames})
        for host in hosts:
            if host in seen:
                raise ValueError(
                    f"hostname {host!r} is routed to {seen[host]!r} and {route.service_key!r}"
                )
            seen[host] = route.service_key
        result.append({"match": [{"host": hosts}], "handle": [_handler(route)], "terminal": True})
    return result


def _handler(route: Route) -> dict[str, Any]:
    if route.static_root is not None:
        return {"handler": "file_server", "root": str(route.static_root)}
    if not route.upstreams:
        return _text_response(503, UNAVAILABLE_BODY)
    return _reverse_proxy(route.upstreams)


def _reverse_proxy(upstreams: Sequence[str]) -> dict[str, Any]:
    return {
        "handler": "reverse_proxy",
        "upstreams": [{"dial": upstream} for upstream in upstreams],
        "load_balancing": {
            "selection_policy": {"policy": "round_robin"},
            "try_duration": TRY_DURATION,
            "try_interval": TRY_INTERVAL,
        },
        "health_checks": {"passive": {"fail_duration": FAIL_DURATION, "max_fails": 1}},
    }


def _not_found_route() -> dict[str, Any]:
    return {"handle": [_text_response(404, NOT_FOUND_BODY)], "terminal": True}


def _text_response(status: int, body: str) -> dict[str, Any]:
    return {
        "handler": "static_response",
        "status_code": status,
        "headers": {"Content-Type": ["text/plain; charset=utf-8"]},
        "body": body,
    }


def _access_logging(path: Path) -> dict[str, Any]:
    # Access logs go to their own JSON file (request metrics read it); everything else stays on
    # Caddy's stderr, which CaddyEdge sends to caddy.log.
    access = f"http.log.access.{ACCESS_LOGGER}"
    return {
        "logs": {
            ACCESS_LOGGER: {
                "writer": {"output": "file", "filename": str(path)},
                "encoder": {"format": "json"},
                "include": [access],
            },
            "default": {"exclude": [access]},
        }
    }
