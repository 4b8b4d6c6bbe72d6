"""The per-team dependency cache: immutable entries at ``<root>/<owner>/<name>``.

Called by the dependency installers (``python_deps.py``, ``node_deps.py``); the builder creates
one cache per builder. An entry is built in a temporary directory beside its final name and
renamed into place only once complete and sealed, so a failed or crashed install never leaves a
half entry that a later build would trust. Entries are per owner (team) so that one team's
install scripts can never touch another team's dependencies.
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from kubidu.builds.tree import remove_tree, seal

_OWNER = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")

Populate = Callable[[Path, Path], Awaitable[None]]  # (temporary dir, final dir)


def owner_dir(base: Path, owner: str, *, group: int | None) -> Path:
    """``base/owner``, created if needed; with ``group`` it is root:group 0750 (team-private)."""
    if not _OWNER.match(owner):
        raise ValueError(f"unsafe owner key {owner!r}")
    path = base / owner
    path.mkdir(parents=True, exist_ok=True)
    if group is not None:
        os.chown(path, 0, group)
        path.chmod(0o750)
    return path


def private_dir(path: Path, *, user: tuple[int, int] | None) -> Path:
    """A writable per-team directory (build home, pip/npm download caches)."""
    path.mkdir(parents=True, exist_ok=True)
    if user is not None:
        os.chown(path, *user)
        path.chmod(0o700)
    return path


@dataclass(frozen=True)
class CacheEntry:
    path: Path
    hit: bool


class DependencyCache:
    """Get-or-build of immutable cache entries, one build per entry at a time."""

    def __init__(self, *, root: Path) -> None:
        self._root = root
        self._locks: weakref.WeakValueDictionary[Path, asyncio.Lock] = weakref.WeakValueDictionary()

    def owner_root(self, owner: str, *, group: int | None) -> Path:
        return owner_dir(self._root, owner, group=group)

    async def ensure(
        self, owner: str, name: str, populate: Populate, *, user: tuple[int, int] | None
    ) -> CacheEntry:
        """Return entry ``name`` of ``owner``, running ``populate`` to build it if missing."""
        final = self.owner_root(owner, group=user[1] if user else None) / name
        lock = self._locks.setdefault(final, asyncio.Lock())
        async with lock:
            if final.is_dir():
                return CacheEntry(final, hit=True)
            await self._build(final, populate, user=user)
            return CacheEntry(final, hit=False)

    async def _build(
        self, final: Path, populate: Populate, *, user: tuple[int, int] | None
    ) -> None:
        tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".tmp-{final.name}-"))
        try:
            if user is not None:
                os.chown(tmp, *user)
            await populate(tmp, final)
            await asyncio.to_thread(seal, tmp, group=user[1] if user else None)
            _publish(tmp, final)
        except BaseException:
            await asyncio.to_thread(remove_tree, tmp)
            raise


def _publish(tmp: Path, final: Path) -> None:
    try:
        tmp.rename(final)
    except OSError:
        if not final.is_dir():
            raise
        remove_tree(tmp)  # another server process published the same entry first
