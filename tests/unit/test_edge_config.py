"""Caddy JSON config generation (kubidu.edge.config), checked without starting Caddy.

Aspects checked:
* each route matches its hostnames exactly (lower-cased) and nothing else;
* proxy routes balance round-robin, retry for a bounded time and use passive health checks;
* static routes use file_server; routes without upstreams answer 503; unknown hosts 404;
* the admin API listens only on the unix socket, never on TCP;
* automatic HTTPS is off until ACME lands, and passing ACME settings fails loudly;
* access logs go to their own file only when asked;
* the config (and its digest) does not depend on the order of routes;
* bad routes are rejected when built (duplicate hostnames, both upstreams and a root, bad dials).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kubidu.edge.config import (
    ACCESS_LOGGER,
    AcmeSettings,
    build_config,
    config_digest,
)
from kubidu.edge.routes import Route

SOCKET = Path("/run/kubidu/admin.sock")


def _build(routes: list[Route], **kwargs: Any) -> dict[str, Any]:
    return build_config(routes, http_port=8080, https_port=8443, admin_socket=SOCKET, **kwargs)


def _server(config: dict[str, Any]) -> dict[str, Any]:
    servers = config["apps"]["http"]["servers"]
    assert len(servers) == 1
    return next(iter(servers.values()))


def _web() -> Route:
    return Route("svc-web", ("Web-Prod-Demo.localhost",), ("127.0.0.1:9001", "127.0.0.1:9002"))


def test_one_http_server_on_the_http_port() -> None:
    config = _build([_web()])
    assert _server(config)["listen"] == [":8080"]
    assert config["apps"]["http"]["http_port"] == 8080
    assert config["apps"]["http"]["https_port"] == 8443


def test_route_matches_its_hostnames_exactly() -> None:
    route = _server(_build([_web()]))["routes"][0]
    assert route["match"] == [{"host": ["web-prod-demo.localhost"]}]
    assert route["terminal"] is True


def test_proxy_balances_round_robin_with_retries_and_passive_health() -> None:
    handler = _server(_build([_web()]))["routes"][0]["handle"][0]
    assert handler["handler"] == "reverse_proxy"
    assert handler["upstreams"] == [{"dial": "127.0.0.1:9001"}, {"dial": "127.0.0.1:9002"}]
    balancing = handler["load_balancing"]
    assert balancing["selection_policy"] == {"policy": "round_robin"}
    assert balancing["try_duration"] == "3s"
    assert balancing["try_interval"]
    assert handler["health_checks"]["passive"]["max_fails"] >= 1


def test_static_route_serves_files_from_its_root(tmp_path: Path) -> None:
    route = Route("svc-docs", ("docs.localhost",), static_root=tmp_path)
    handler = _server(_build([route]))["routes"][0]["handle"][0]
    assert handler == {"handler": "file_server", "root": str(tmp_path)}


def test_route_without_upstreams_answers_503() -> None:
    handler = _server(_build([Route("svc-idle", ("idle.localhost",))]))["routes"][0]["handle"][0]
    assert handler["handler"] == "static_response"
    assert handler["status_code"] == 503


def test_unknown_hosts_get_a_plain_404_last() -> None:
    routes = _server(_build([_web()]))["routes"]
    catch_all = routes[-1]
    assert "match" not in catch_all
    assert catch_all["handle"][0]["status_code"] == 404
    assert catch_all["handle"][0]["body"].startswith("404")


def test_admin_api_only_on_the_unix_socket() -> None:
    admin = _build([])["admin"]
    assert admin["listen"] == "unix//run/kubidu/admin.sock"
    assert admin["config"]["persist"] is True


def test_automatic_https_is_off_without_acme() -> None:
    config = _build([_web()])
    assert _server(config)["automatic_https"] == {"disable": True}
    assert set(config["apps"]) == {"http"}


def test_acme_settings_are_not_silently_ignored() -> None:
    with pytest.raises(NotImplementedError):
        _build([_web()], acme=AcmeSettings(ca_directory="https://pebble:14000/dir"))


def test_access_log_only_when_asked(tmp_path: Path) -> None:
    assert "logging" not in _build([_web()])
    assert "logs" not in _server(_build([_web()]))
    config = _build([_web()], access_log=tmp_path / "access.log")
    assert _server(config)["logs"] == {"default_logger_name": ACCESS_LOGGER}
    writer = config["logging"]["logs"][ACCESS_LOGGER]["writer"]
    assert writer == {"output": "file", "filename": str(tmp_path / "access.log")}


def test_config_does_not_depend_on_route_order() -> None:
    other = Route("svc-api", ("api.localhost",), ("127.0.0.1:9003",))
    first, second = _build([_web(), other]), _build([other, _web()])
    assert first == second
    assert config_digest(first) == config_digest(second)
    assert config_digest(first) != config_digest(_build([other]))


def test_a_hostname_routed_twice_is_rejected() -> None:
    twin = Route("svc-twin", ("web-prod-demo.localhost",), ("127.0.0.1:9004",))
    with pytest.raises(ValueError, match=r"web-prod-demo\.localhost"):
        _build([_web(), twin])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"hostnames": ()}, "no hostname"),
        ({"upstreams": ("127.0.0.1",)}, "HOST:PORT"),
        ({"upstreams": ("127.0.0.1:0",)}, "HOST:PORT"),
        ({"upstreams": ("127.0.0.1:1",), "static_root": Path("/srv")}, "both"),
    ],
)
def test_bad_routes_are_rejected(kwargs: dict[str, Any], message: str) -> None:
    fields: dict[str, Any] = {"service_key": "svc", "hostnames": ("a.localhost",), **kwargs}
    with pytest.raises(ValueError, match=message):
        Route(**fields)
