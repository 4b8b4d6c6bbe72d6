"""What the edge routes: one :class:`Route` per service, built by the control layer.

A route is plain data: the full hostnames (the control layer derives them; the edge never invents
names), and either the ``host:port`` upstreams of the healthy replicas or a directory of static
files. ``config.py`` turns a list of routes into Caddy's JSON config.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Route:
    """Traffic for ``hostnames`` goes to ``upstreams`` (round-robin) or to files in ``static_root``.

    A route with neither upstreams nor a static root answers 503: the service exists but has no
    healthy replica right now, which is different from an unknown host (404).
    """

    service_key: str
    hostnames: tuple[str, ...]
    upstreams: tuple[str, ...] = ()
    static_root: Path | None = None
    # Hostnames whose plain-HTTP requests are redirected to HTTPS (custom domains with an
    # active certificate); each must be one of ``hostnames``.
    https_redirect: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.hostnames:
            raise ValueError(f"route {self.service_key!r} has no hostname")
        if not set(self.https_redirect) <= set(self.hostnames):
            raise ValueError(f"route {self.service_key!r} redirects a hostname it does not serve")
        if self.upstreams and self.static_root is not None:
            raise ValueError(f"route {self.service_key!r} has both upstreams and a static root")
        for upstream in self.upstreams:
            _check_upstream(upstream)


def _check_upstream(upstream: str) -> None:
    # Caddy would accept a lot more ("unix/...", placeholders); we only emit host:port dials, so a
    # malformed one is a bug in the caller and is better caught here than as a rejected config.
    host, sep, port = upstream.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"upstream {upstream!r} is not HOST:PORT")
