"""Caddy JSON config generation (kubidu.edge.config), checked without starting Caddy.

Aspects checked:
* each route matches its hostnames exactly (lower-cased) and nothing else;
* proxy routes balance round-robin, retry for a bounded time and use passive health checks;
* static routes use file_server; routes without upstreams answer 503; unknown hosts 404;
* the admin API listens only on the unix socket, never on TCP;
* without ACME everything is plain HTTP; with ACME an HTTPS server serves the same routes,
  certificates come only from an on-demand ACME policy gated by the ask endpoint (never open),
  and active custom domains are redirected from HTTP to HTTPS;
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


ACME = AcmeSettings(
    ca_directory="https://127.0.0.1:14000/dir",
    email="ops@example.com",
    ca_root=Path("/etc/kubidu/pebble-ca.pem"),
    ask_url="http://127.0.0.1:8420/api/v1/edge/ask",
)


def test_acme_without_an_ask_endpoint_is_refused() -> None:
    # An on-demand policy without "ask" would issue for any name an attacker points at us.
    with pytest.raises(ValueError, match="ask endpoint"):
        _build([_web()], acme=AcmeSettings(ca_directory="https://127.0.0.1:14000/dir"))


def test_acme_adds_an_https_server_with_the_same_routes() -> None:
    config = _build([_web()], acme=ACME)
    servers = config["apps"]["http"]["servers"]
    assert set(servers) == {"kubidu", "kubidu_tls"}
    tls = servers["kubidu_tls"]
    assert tls["listen"] == [":8443"]
    assert tls["tls_connection_policies"] == [{}]
    assert tls["routes"] == servers["kubidu"]["routes"]
    # Caddy's own automatic HTTPS stays off: certificates come only from the gated policy.
    assert tls["automatic_https"] == {"disable": True}
    assert servers["kubidu"]["automatic_https"] == {"disable": True}


def test_acme_issuer_is_on_demand_and_gated_by_ask() -> None:
    automation = _build([_web()], acme=ACME)["apps"]["tls"]["automation"]
    (policy,) = automation["policies"]
    assert policy["on_demand"] is True
    assert "subjects" not in policy
    assert policy["issuers"] == [
        {
            "module": "acme",
            "ca": "https://127.0.0.1:14000/dir",
            "email": "ops@example.com",
            "trusted_roots_pem_files": ["/etc/kubidu/pebble-ca.pem"],
        }
    ]
    permission = {"module": "http", "endpoint": "http://127.0.0.1:8420/api/v1/edge/ask"}
    assert automation["on_demand"] == {"permission": permission}


def test_active_custom_domains_are_redirected_to_https_first() -> None:
    route = Route(
        "svc-web", ("web.localhost", "app.example.com", "www.example.com"),
        ("127.0.0.1:9001",), https_redirect=("app.example.com",),
    )  # fmt: skip
    routes = _build([route], acme=ACME)["apps"]["http"]["servers"]["kubidu"]["routes"]
    redirect = routes[0]
    assert redirect["match"] == [{"host": ["app.example.com"]}]
    (handler,) = redirect["handle"]
    assert handler["status_code"] == 308
    assert handler["headers"]["Location"] == ["https://{http.request.host}:8443{http.request.uri}"]
    # The other names of the route still serve plain HTTP.
    assert routes[1]["match"] == [{"host": ["app.example.com", "web.localhost", "www.example.com"]}]
    assert routes[1]["handle"][0]["handler"] == "reverse_proxy"


def test_no_redirect_routes_without_acme() -> None:
    route = Route(
        "svc-web", ("web.localhost", "app.example.com"), https_redirect=("app.example.com",)
    )
    routes = _server(_build([route]))["routes"]
    assert [r.get("match") for r in routes] == [
        [{"host": ["app.example.com", "web.localhost"]}],
        None,
    ]


def test_a_route_cannot_redirect_a_name_it_does_not_serve() -> None:
    with pytest.raises(ValueError, match="redirects"):
        Route("svc-web", ("web.localhost",), https_redirect=("app.example.com",))


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
