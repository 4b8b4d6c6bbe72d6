"""The edge: Caddy as the router in front of every app (ARCHITECTURE.md §5).

The control layer hands :class:`Route` values to :class:`CaddyEdge`, which turns them into one
Caddy JSON config (``config.py``), pushes it through the admin API on a unix socket
(``admin.py``) and keeps the Caddy process alive (``caddy.py``). Caddy runs detached, so routes
keep serving while the control plane is down.
"""

from kubidu.edge.admin import CaddyAdmin, EdgeConfigRejected, EdgeError, EdgeUnavailable
from kubidu.edge.caddy import CaddyEdge, resolve_caddy_bin
from kubidu.edge.config import AcmeSettings, build_config
from kubidu.edge.routes import Route

__all__ = [
    "AcmeSettings",
    "CaddyAdmin",
    "CaddyEdge",
    "EdgeConfigRejected",
    "EdgeError",
    "EdgeUnavailable",
    "Route",
    "build_config",
    "resolve_caddy_bin",
]
