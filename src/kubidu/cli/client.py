"""The CLI's only seam to the network: a small synchronous wrapper around `httpx.Client`.

Used by every command through `context.open_client`. It adds the bearer token, decodes JSON,
and turns every expected failure into a `CliError` with a one-line message:

* an HTTP error answer → the API's `{"detail": ...}` (FastAPI's validation lists are joined);
* connection refused / DNS failure / timeout → "cannot reach the Kubidu server at URL".

Tests pass an `httpx.MockTransport` as `transport` to run commands against a fake API.
"""

import contextlib
import json
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote

import httpx

from kubidu.cli.config import Link
from kubidu.cli.errors import ApiError, CliError

API = "/api/v1"
_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
_STREAM_TIMEOUT = httpx.Timeout(60.0, connect=10.0, read=None)


def environment_path(link: Link, suffix: str = "") -> str:
    """Return the API path of the linked environment (names are URL-quoted defensively)."""
    parts = (quote(link.project, safe=""), quote(link.environment, safe=""))
    return f"{API}/projects/{parts[0]}/environments/{parts[1]}{suffix}"


def service_path(link: Link, suffix: str = "") -> str:
    """Return the API path of the linked service."""
    return environment_path(link, f"/services/{quote(link.service, safe='')}{suffix}")


def error_detail(response: httpx.Response) -> str:
    """Extract a one-line reason from an error answer."""
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    if isinstance(detail, list):  # FastAPI request-validation errors
        detail = "; ".join(_validation_message(item) for item in detail)
    if not detail:
        detail = f"{response.status_code} {response.reason_phrase}".strip()
    return " ".join(str(detail).split())


class ApiClient:
    """A connection to one Kubidu server, authenticated with one API token."""

    def __init__(
        self, *, url: str, token: str, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.url = url
        self._http = httpx.Client(
            base_url=url,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=_TIMEOUT,
            transport=transport,
        )

    def __enter__(self) -> "ApiClient":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send one request and return the decoded JSON body (None when empty)."""
        with self._translate_errors():
            response = self._http.request(method, path, **kwargs)
        _raise_for_status(response)
        return response.json() if response.content else None

    def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        """GET `path` and return its JSON."""
        return self.request("GET", path, params=params)

    def post(self, path: str, **kwargs: Any) -> Any:
        """POST to `path` (`json=`, or `files=` and `data=` for multipart) and return its JSON."""
        return self.request("POST", path, **kwargs)

    def put(self, path: str, body: Any) -> Any:
        """PUT a JSON `body` to `path` and return its JSON."""
        return self.request("PUT", path, json=body)

    def stream_events(self, path: str, params: Mapping[str, str]) -> Iterator[dict[str, Any]]:
        """Yield each record of a log stream as soon as it arrives.

        Asks for Server-Sent Events; log lines come as their JSON objects, other events
        (``end``, ``dropped``) as ``{"event": NAME, ...}``. An NDJSON answer works too.
        """
        headers = {"Accept": "text/event-stream"}
        with (
            self._translate_errors(),
            self._http.stream(
                "GET", path, params=params, headers=headers, timeout=_STREAM_TIMEOUT
            ) as response,
        ):
            if response.is_error:
                response.read()
                _raise_for_status(response)
            lines = response.iter_lines()
            if response.headers.get("content-type", "").startswith("text/event-stream"):
                yield from _sse_records(lines)
                return
            for line in lines:
                record = _decode_line(line)
                if record is not None:
                    yield record

    @contextlib.contextmanager
    def _translate_errors(self) -> Iterator[None]:
        """Map transport failures to a `CliError` naming the server."""
        try:
            yield
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise CliError(f"cannot reach the Kubidu server at {self.url}") from exc
        except httpx.TimeoutException as exc:
            raise CliError(f"the Kubidu server at {self.url} did not answer in time") from exc
        except httpx.TransportError as exc:
            raise CliError(f"connection to the Kubidu server at {self.url} failed: {exc}") from exc


def _raise_for_status(response: httpx.Response) -> None:
    """Raise a `CliError` carrying the API's reason when the answer is an error."""
    if response.is_error:
        raise ApiError(error_detail(response), status_code=response.status_code)


def _sse_records(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    """Parse Server-Sent Events: ``event:`` and ``data:`` fields, ended by a blank line."""
    event, data = "message", ""
    for line in lines:
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data += line[5:].strip()
        elif not line.strip() and data:
            record = _decode_line(data) or {}
            yield record if event in ("line", "message") else {"event": event, **record}
            event, data = "message", ""


def _decode_line(line: str) -> dict[str, Any] | None:
    """Decode one NDJSON line; blank or non-object lines are skipped (keep-alives)."""
    if not line.strip():
        return None
    try:
        record = json.loads(line)
    except ValueError:
        return {"line": line}
    return record if isinstance(record, dict) else None


def _validation_message(item: Any) -> str:
    """Render one FastAPI validation error as `field: message`."""
    if not isinstance(item, dict):
        return str(item)
    where = ".".join(str(part) for part in item.get("loc", [])[1:])
    message = str(item.get("msg", "invalid"))
    return f"{where}: {message}" if where else message
