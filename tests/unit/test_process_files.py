"""Unit tests of the process runtime's files: modes, atomic JSON, pid identity, backoff.

Checks: state files are 0600 and dirs 0700 whatever the umask; a damaged or missing JSON
file reads as None; the stdlib create time of a pid matches psutil's (the re-adoption check
depends on it); restart delays double up to the maximum.
"""

from __future__ import annotations

import os
from pathlib import Path

import psutil

from kubidu.runtimes.process.files import private_dir, process_create_time, read_json, write_json
from kubidu.runtimes.process.plan import Backoff, ReplicaPlan


def test_files_are_private_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        directory = private_dir(tmp_path / "a" / "b")
        write_json(directory / "x.json", {"k": 1})
    finally:
        os.umask(old)
    assert directory.stat().st_mode & 0o777 == 0o700
    assert (directory / "x.json").stat().st_mode & 0o777 == 0o600
    assert read_json(directory / "x.json") == {"k": 1}
    assert [p.name for p in directory.iterdir()] == ["x.json"]  # no temporary file left


def test_unreadable_json_reads_as_none(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text('{"half": ')
    (tmp_path / "list.json").write_text("[1]")
    assert read_json(tmp_path / "bad.json") is None
    assert read_json(tmp_path / "list.json") is None
    assert read_json(tmp_path / "missing.json") is None


def test_create_time_matches_psutil() -> None:
    created = process_create_time(os.getpid())
    assert created is not None
    assert abs(created - psutil.Process().create_time()) < 0.05
    assert process_create_time(2**22 + 12345) is None


def test_backoff_doubles_up_to_the_maximum() -> None:
    backoff = Backoff(initial=0.5, maximum=30.0)
    assert [backoff.delay(n) for n in range(1, 9)] == [0.5, 1, 2, 4, 8, 16, 30, 30]


def test_plan_round_trips_through_json(tmp_path: Path) -> None:
    plan = ReplicaPlan(
        replica_id="r1", service_key="s", deployment_id="d", generation=2, labels={"a": "b"},
        artifact="/srv", command=["x"], env={"A": "1"}, port=None, uid=None, gid=None,
        spec_file="s", state_file="t", log_file="l", stop_file="p", backoff=Backoff(initial=0.1),
    )  # fmt: skip
    write_json(tmp_path / "plan.json", plan.to_json())
    assert ReplicaPlan.from_json(read_json(tmp_path / "plan.json") or {}) == plan
