"""Replica logs from the Engine: timestamped stdout/stderr lines, merged, followed, archived.

Used by :class:`~kubidu.runtimes.docker.runtime.DockerRuntime`. The Engine keeps a container's
output (json-file driver, rotated) only as long as the container exists, so the runtime calls
:func:`archive` before it removes one: its lines go to ``<log_dir>/<service>/<replica>.jsonl``
and :class:`LogReader` serves them beside the live containers'. Following polls the Engine with a
per-container cursor in nanoseconds, which also picks up containers started meanwhile.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from docker import APIClient
from docker.errors import NotFound

from kubidu.runtimes.base import LogLine
from kubidu.runtimes.docker import labels as lbl
from kubidu.runtimes.docker.containers import nanos

ARCHIVE_SUFFIX = ".jsonl"


@dataclass(frozen=True)
class Stamped:
    """A log line with its exact Engine timestamp (ns), for cursors and merging."""

    ns: int
    line: LogLine


def read_container(api: APIClient, info: Mapping[str, Any], *, after_ns: int = 0) -> list[Stamped]:
    """The container's lines written after ``after_ns``, stdout and stderr merged by time."""
    labels = info["Config"]["Labels"]
    replica, deployment = labels[lbl.REPLICA], labels[lbl.PREFIX + "deployment"]
    lines: list[Stamped] = []
    for stream in ("stdout", "stderr"):
        raw = _fetch(api, info["Id"], stream, after_ns)
        for ns, text in _split(raw):
            if ns > after_ns:
                when = datetime.fromtimestamp(ns / 1e9, UTC)
                lines.append(Stamped(ns, LogLine(when, replica, deployment, stream, text)))
    return sorted(lines, key=lambda s: s.ns)


def _fetch(api: APIClient, container_id: str, stream: str, after_ns: int) -> bytes:
    since = after_ns / 1e9 if after_ns else None  # the Engine cuts at whole-ish seconds
    try:
        data = api.logs(
            container_id,
            stdout=stream == "stdout",
            stderr=stream == "stderr",
            timestamps=True,
            since=since,
        )
    except NotFound:
        return b""
    return data if isinstance(data, bytes) else b""


def _split(raw: bytes) -> Iterator[tuple[int, str]]:
    for entry in raw.decode("utf-8", errors="replace").splitlines():
        stamp, _, text = entry.partition(" ")
        try:
            yield nanos(stamp), text
        except ValueError:
            continue  # not a timestamped line (cannot happen with timestamps=True)


def archive(api: APIClient, info: Mapping[str, Any], log_dir: Path) -> None:
    """Append the container's lines to its archive file, before the container is removed."""
    labels = info["Config"]["Labels"]
    directory = log_dir / labels[lbl.SERVICE_KEY]
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = directory / (labels[lbl.REPLICA] + ARCHIVE_SUFFIX)
    with path.open("a", encoding="utf-8") as handle:
        for stamped in read_container(api, info):
            handle.write(json.dumps(_to_json(stamped)) + "\n")


def read_archive(directory: Path) -> list[Stamped]:
    lines = []
    for path in sorted(directory.glob(f"*{ARCHIVE_SUFFIX}")):
        for entry in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                lines.append(_from_json(json.loads(entry)))
            except (ValueError, KeyError, TypeError):
                continue  # a torn last line of an interrupted archive
    return lines


def _to_json(stamped: Stamped) -> dict[str, Any]:
    line = stamped.line
    return {
        "ns": stamped.ns,
        "replica": line.replica_id,
        "deployment": line.deployment_id,
        "stream": line.stream,
        "line": line.line,
    }


def _from_json(data: dict[str, Any]) -> Stamped:
    ns = int(data["ns"])
    when = datetime.fromtimestamp(ns / 1e9, UTC)
    line = LogLine(
        when, str(data["replica"]), str(data["deployment"]), data["stream"], data["line"]
    )
    return Stamped(ns, line)


class LogReader:
    """Remembers, per container, the newest line already returned (for ``follow``)."""

    def __init__(self, api: APIClient, *, since: datetime | None) -> None:
        self._api = api
        self._floor = int(since.timestamp() * 1e9) if since else 0
        self._cursors: dict[str, int] = {}

    def archived(self, directory: Path) -> list[LogLine]:
        return [
            s.line
            for s in sorted(read_archive(directory), key=lambda s: s.ns)
            if s.ns >= self._floor
        ]

    def read_new(self, containers: list[Mapping[str, Any]]) -> list[LogLine]:
        batch: list[Stamped] = []
        for info in containers:
            cursor = self._cursors.get(info["Id"], self._floor - 1)
            lines = read_container(self._api, info, after_ns=max(cursor, 0))
            lines = [s for s in lines if s.ns > cursor]
            if lines:
                self._cursors[info["Id"]] = lines[-1].ns
            batch.extend(lines)
        return [s.line for s in sorted(batch, key=lambda s: s.ns)]
