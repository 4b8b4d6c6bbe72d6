"""Temporary directories that unprivileged accounts can reach when the tests run as root.

A tricky part: pytest makes ``/tmp/pytest-of-root``, each session's ``pytest-N`` and every
``tmp_path`` with mode 0700, so an app, build or database running as a team account (or as
``kubidu-pg``) cannot even traverse into its own data directory under ``tmp_path``. Real
installs keep their data dir in a traversable place (``/var/lib/kubidu``), so the tests add
the search bit (``o+x``, not read) along the path, as there.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path


def make_traversable(path: Path, *, up_to: Path | None = None) -> Path:
    """Add ``o+x``/``g+x`` to ``path`` and its parents below ``up_to`` (default: the temp dir).

    Does nothing unless running as root, and never touches directories we do not own.
    """
    if os.geteuid() != 0:
        return path
    stop = (up_to or Path(tempfile.gettempdir())).resolve()
    current = path.resolve()
    while current != stop and stop in current.parents:
        info = current.stat()
        if info.st_uid == 0 and stat.S_ISDIR(info.st_mode):
            current.chmod(stat.S_IMODE(info.st_mode) | 0o011)
        current = current.parent
    return path
