"""Printing of log streams (build logs and runtime logs), shared by deploy, rollback and logs.

Lines are printed with `typer.echo` as they arrive (no Rich: log text may contain markup-like
brackets). The build log's final `{"event": "end", ...}` record is returned, not printed, so
the caller can decide the exit code from it.
"""

from typing import Any

import typer

from kubidu.cli.client import API, ApiClient


def stream_build_log(
    client: ApiClient,
    deployment_id: str,
    *,
    follow: bool,
    to_stderr: bool = False,
    grep: str | None = None,
) -> dict[str, Any] | None:
    """Print a deployment's build log; return the end record if the stream sent one."""
    path = f"{API}/deployments/{deployment_id}/build-log"
    params = {"follow": "true" if follow else "false"}
    for record in client.stream_events(path, params):
        if "event" in record:
            if record["event"] == "end":
                return record
            continue
        line = str(record.get("line", ""))
        if grep is None or grep.lower() in line.lower():
            typer.echo(line, err=to_stderr)
    return None


def format_runtime_line(record: dict[str, Any]) -> str:
    """Render a runtime `LogLine` as `TIME SOURCE  TEXT` (source: replica id or stream)."""
    source = record.get("replica") or record.get("stream") or "-"
    return f"{record.get('at', '')} {source}  {record.get('line', '')}".lstrip()
