"""Unit tests of replica log files: how the supervisor writes them and the runtime reads them.

Checks: lines are JSON with the documented fields in a 0600 file; reading merges replicas by
time while keeping each replica's order; a half-written line waits for its newline; damaged
lines are skipped; ``since`` filters; a follower sees only new lines; files rotate at a size
cap and the reader carries on in the new file.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

from kubidu.runtimes.process.applog import AppLog
from kubidu.runtimes.process.logread import LogTail


def _log(directory: Path, replica_id: str) -> AppLog:
    return AppLog(path=directory / f"{replica_id}.log", replica_id=replica_id, deployment_id="d1")


def test_lines_are_json_in_a_private_file(tmp_path: Path) -> None:
    log = _log(tmp_path, "r1")
    log.write("stdout", "hello")
    log.close()
    log.write("stdout", "after close is dropped")
    path = tmp_path / "r1.log"
    assert path.stat().st_mode & 0o777 == 0o600
    [record] = [json.loads(line) for line in path.read_text().splitlines()]
    assert set(record) == {"at", "stream", "line", "replica", "deployment_id"}
    assert (record["stream"], record["line"], record["replica"]) == ("stdout", "hello", "r1")


def test_replicas_are_merged_by_time(tmp_path: Path) -> None:
    first, second = _log(tmp_path, "r1"), _log(tmp_path, "r2")
    for index, log in enumerate([first, second, first, second]):
        log.write("stdout", f"line {index}")
        time.sleep(0.002)
    lines = LogTail(tmp_path, since=None).read_new()
    assert [line.line for line in lines] == ["line 0", "line 1", "line 2", "line 3"]
    assert [line.replica_id for line in lines] == ["r1", "r2", "r1", "r2"]


def test_partial_and_damaged_lines(tmp_path: Path) -> None:
    path = tmp_path / "r1.log"
    good = {"at": datetime.now(UTC).isoformat(), "stream": "stdout", "line": "ok"}
    good.update(replica="r1", deployment_id="d1")
    text = json.dumps(good)
    path.write_text("not json\n" + text[:10])
    tail = LogTail(tmp_path, since=None)
    assert tail.read_new() == []
    with path.open("a") as handle:
        handle.write(text[10:] + "\n")
    assert [line.line for line in tail.read_new()] == ["ok"]
    assert tail.read_new() == []


def test_since_filters_older_lines(tmp_path: Path) -> None:
    log = _log(tmp_path, "r1")
    log.write("stdout", "old")
    time.sleep(0.01)
    cutoff = datetime.now(UTC).replace(tzinfo=None)  # naive means UTC
    log.write("stdout", "new")
    assert [line.line for line in LogTail(tmp_path, since=cutoff).read_new()] == ["new"]


def test_files_rotate_and_the_reader_follows_into_the_new_one(tmp_path: Path) -> None:
    log = AppLog(path=tmp_path / "r1.log", replica_id="r1", deployment_id="d1", max_bytes=400)
    tail = LogTail(tmp_path, since=None)
    for index in range(3):
        log.write("stdout", f"before {index}")
    assert [line.line for line in tail.read_new()] == ["before 0", "before 1", "before 2"]
    for index in range(3):
        log.write("stdout", f"after {index}")
    log.close()
    assert (tmp_path / "r1.log.1").exists()  # one old generation is kept, no more
    assert (tmp_path / "r1.log").stat().st_size < 400
    assert [line.line for line in tail.read_new()][-1] == "after 2"
