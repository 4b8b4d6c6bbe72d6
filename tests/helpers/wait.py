"""Polling helpers: wait until a condition holds, with a deadline and a useful error.

Use these instead of ``time.sleep(n)`` in tests: they return as soon as the condition holds
and fail with a message that says what was being waited for.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import TypeVar

from tests.helpers.ports import port_open

T = TypeVar("T")


def wait_for(
    predicate: Callable[[], T | None],
    timeout: float = 10.0,
    *,
    interval: float = 0.05,
    what: str | None = None,
    ignore: tuple[type[BaseException], ...] = (),
) -> T:
    """Call ``predicate`` until it returns a truthy value, and return that value.

    Exceptions of the types in ``ignore`` count as "not yet". Raises :class:`TimeoutError`
    after ``timeout`` seconds, naming ``what`` (or the predicate) and the last ignored error.
    """
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            result = predicate()
        except ignore as exc:
            last_error = exc
        else:
            if result:
                return result
        if time.monotonic() >= deadline:
            name = what or getattr(predicate, "__name__", repr(predicate))
            detail = f" (last error: {last_error!r})" if last_error else ""
            raise TimeoutError(f"timed out after {timeout}s waiting for {name}{detail}")
        time.sleep(interval)


def wait_for_port(port: int, host: str = "127.0.0.1", timeout: float = 10.0) -> None:
    """Wait until something accepts TCP connections on ``host:port``."""
    wait_for(lambda: port_open(port, host), timeout, what=f"{host}:{port} to accept connections")


def wait_for_http(url: str, timeout: float = 10.0, *, status: int = 200) -> bytes:
    """Wait until ``GET url`` answers ``status``; return the response body."""

    def fetch() -> tuple[bytes] | None:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - test URLs
                code, body = response.status, response.read()
        except urllib.error.HTTPError as exc:
            code, body = exc.code, exc.read()
        return (body,) if code == status else None

    return wait_for(fetch, timeout, what=f"GET {url} -> {status}", ignore=(OSError,))[0]
