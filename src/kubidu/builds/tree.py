"""Filesystem helpers for build trees: content digests, sealing modes/ownership, hardlink copies.

Called by the builder and the dependency cache. Everything here walks trees without following
symlinks: a tree may contain links (checked to stay inside by ``archive.py``), and following them
would hash, chmod or chown whatever they point at.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path


def tree_digest(root: Path, *, extra: str) -> str:
    """sha256 over the sorted tree (relative paths, types, modes, contents, link targets) + extra.

    Every field is length-prefixed so that no two different trees can produce the same stream.
    """
    hasher = hashlib.sha256()
    _field(hasher, extra.encode())
    for rel, path in _sorted_entries(root):
        st = path.lstat()
        _field(hasher, rel.encode("utf-8", "surrogateescape"))
        _field(hasher, f"{stat.S_IFMT(st.st_mode)}:{stat.S_IMODE(st.st_mode):o}".encode())
        if stat.S_ISLNK(st.st_mode):
            _field(hasher, os.fsencode(path.readlink()))
        elif stat.S_ISREG(st.st_mode):
            _field(hasher, _file_sha256(path))
    return hasher.hexdigest()


def _field(hasher: hashlib._Hash, data: bytes) -> None:
    hasher.update(len(data).to_bytes(8, "big"))
    hasher.update(data)


def _file_sha256(path: Path) -> bytes:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").digest()


def _sorted_entries(root: Path) -> Iterator[tuple[str, Path]]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        base = Path(dirpath)
        for name in sorted(dirnames + filenames):
            path = base / name
            yield path.relative_to(root).as_posix(), path


def walk_all(root: Path) -> Iterator[Path]:
    """``root`` and everything below it, parents before children, links not followed."""
    yield root
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            yield Path(dirpath) / name


def chown_tree(root: Path, *, uid: int, gid: int) -> None:
    """Give a build directory to the account that runs the build step."""
    for path in walk_all(root):
        os.chown(path, uid, gid, follow_symlinks=False)


def seal(root: Path, *, group: int | None) -> None:
    """Make a finished tree read-only.

    With ``group`` (isolation on, running as root): owner root, readable by that group only —
    dirs 0750, files 0640, executables 0750. Without: read-only for everyone — 0555/0444/0555.
    """
    for path in walk_all(root):
        st = path.lstat()
        if stat.S_ISLNK(st.st_mode):
            if group is not None:
                os.chown(path, 0, group, follow_symlinks=False)
            continue
        if group is not None:
            os.chown(path, 0, group)
        path.chmod(_sealed_mode(st.st_mode, isolated=group is not None))


def _sealed_mode(mode: int, *, isolated: bool) -> int:
    executable = stat.S_ISDIR(mode) or bool(mode & 0o111)
    if isolated:
        return 0o750 if executable else 0o640
    return 0o555 if executable else 0o444


def link_tree(src: Path, dst: Path) -> None:
    """Copy ``src`` to ``dst`` sharing file contents via hardlinks (copies across filesystems)."""
    shutil.copytree(src, dst, symlinks=True, copy_function=_link_or_copy)


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst, follow_symlinks=False)
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK):
            raise
        shutil.copy2(src, dst, follow_symlinks=False)


def remove_tree(path: Path) -> None:
    """Delete a (possibly sealed, read-only) tree; missing is fine."""
    if not path.exists() and not path.is_symlink():
        return
    for entry in walk_all(path):
        if entry.is_dir() and not entry.is_symlink():
            entry.chmod(0o700)  # sealed dirs are not writable, even by their owner
    shutil.rmtree(path, ignore_errors=True)
