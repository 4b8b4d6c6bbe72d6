"""Unprivileged system accounts, one per team, that builds and replicas run as.

Called by the builder (to run dependency installs) and the process runtime (to run replicas)
when the control plane runs as root. Account names are derived from validated team keys, so
they never carry user-controlled characters beyond ``[a-z0-9-]``.
"""

from __future__ import annotations

import grp
import pwd
import re
import subprocess
import threading

_SAFE = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
_lock = threading.Lock()  # useradd is not safe to run concurrently against /etc/passwd


def ensure_system_user(name: str) -> tuple[int, int]:
    """Return ``(uid, gid)`` of system account ``name``, creating it (and its group) if needed."""
    if not _SAFE.fullmatch(name):
        raise ValueError(f"unsafe system user name {name!r}")
    with _lock:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            _create(name)
            entry = pwd.getpwnam(name)
    return entry.pw_uid, entry.pw_gid


def _create(name: str) -> None:
    argv = [
        "useradd",
        "--system",
        "--user-group",
        "--no-create-home",
        "--home-dir",
        "/nonexistent",
        "--shell",
        "/usr/sbin/nologin",
        "--",
        name,
    ]
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode not in (0, 9):  # 9: created concurrently by another process
        raise OSError(f"useradd {name} failed: {result.stderr.strip()}")


def group_id(name: str) -> int:
    """Group id of the account's own group (created by ``--user-group``)."""
    return grp.getgrnam(name).gr_gid
