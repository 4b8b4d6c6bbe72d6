"""What every benchmark starts with: a real ``kubidu server`` in a fresh, traversable temp dir
(team accounts must reach their releases), removed with everything it ran afterwards."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.helpers.server import KubiduServer


@contextmanager
def bench_server() -> Iterator[tuple[KubiduServer, Path]]:
    """An unstarted server and its root dir (apps may be written under it)."""
    root = Path(tempfile.mkdtemp(prefix="kubidu-bench-", dir="/tmp"))
    root.chmod(0o711)
    (root / "home").mkdir()
    server = KubiduServer(data_dir=root / "data", home=root / "home")
    try:
        yield server, root
    finally:
        server.cleanup()
        shutil.rmtree(root, ignore_errors=True)
