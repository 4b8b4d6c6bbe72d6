"""Writing one replica's log file: every line the app prints, as one JSON object per line.

Used by the supervisor only (stdlib only). A line is
``{"at", "stream", "line", "replica", "deployment_id"}`` with ``stream`` one of ``stdout``,
``stderr`` or ``system`` (what the supervisor itself reports: starts, exits, restarts).
The file is 0600 root: apps must not read their own or anyone else's captured output.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

MAX_LINE = 64 * 1024  # longer lines are split, so one runaway line cannot exhaust memory
# The control plane ships lines into its own capped store within ~0.1 s; these files only
# bridge that gap, so they are rotated (one old generation kept) instead of growing forever.
MAX_FILE_BYTES = 32 * 1024 * 1024


class AppLog:
    """Appends JSON lines to a replica's log; safe to call from several reader threads."""

    def __init__(
        self,
        *,
        path: Path,
        replica_id: str,
        deployment_id: str,
        max_bytes: int = MAX_FILE_BYTES,
    ) -> None:
        self._path, self._max_bytes = path, max_bytes
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._size = os.fstat(self._fd).st_size
        self._replica_id = replica_id
        self._deployment_id = deployment_id
        self._lock = threading.Lock()
        self._closed = False

    def write(self, stream: str, line: str) -> None:
        record = {
            "at": datetime.now(UTC).isoformat(),
            "stream": stream,
            "line": line,
            "replica": self._replica_id,
            "deployment_id": self._deployment_id,
        }
        data = (json.dumps(record) + "\n").encode()
        with self._lock:
            if not self._closed:  # a straggling reader thread may outlive close()
                os.write(self._fd, data)
                self._size += len(data)
                if self._size > self._max_bytes:
                    self._rotate()

    def _rotate(self) -> None:
        os.close(self._fd)
        self._path.replace(self._path.with_name(self._path.name + ".1"))
        self._fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._size = 0

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                os.close(self._fd)


def pump(pipe: IO[bytes], *, log: AppLog, stream: str) -> None:
    """Copy ``pipe`` into ``log`` line by line until the app closes it (a thread's target)."""
    with pipe:
        for raw in iter(lambda: pipe.readline(MAX_LINE), b""):
            log.write(stream, raw.decode("utf-8", "replace").rstrip("\r\n"))


def start_pump(pipe: IO[bytes] | None, *, log: AppLog, stream: str) -> threading.Thread:
    thread = threading.Thread(target=pump, args=(pipe,), kwargs={"log": log, "stream": stream})
    thread.daemon = True  # a grandchild holding the pipe open must not keep the supervisor alive
    thread.start()
    return thread
