"""Safe extraction of user-uploaded gzip tarballs.

Called by the builder (``builder.py``) on every upload before anything else looks at the source.
The archive is hostile until proven otherwise, so this module never uses ``TarFile.extract``:

* names are checked component by component (no absolute paths, no ``..``), and nothing is ever
  written *through* a symlink — a tricky part: a link that is harmless on its own (``a -> .``)
  can make a later member's lexically-safe path escape, so parents are checked with ``lstat``;
* links must stay inside the tree; after extraction every symlink is resolved for real, which
  also catches chains of links that only escape together;
* sizes are counted on the decompressed stream as it is read, not taken from headers, so a gzip
  bomb or a huge pax header stops at the cap instead of filling memory or disk;
* the tree is built in a temporary directory beside ``dest`` and renamed into place only on
  success, so a failure leaves nothing behind.
"""

from __future__ import annotations

import gzip
import os
import shutil
import tarfile
import tempfile
import zlib
from pathlib import Path

from kubidu.core.errors import InvalidInput, PayloadTooLarge

_CHUNK = 1 << 16
_HEADER_ALLOWANCE = 8192  # per member: tar header, pax/longname records and padding


class _CountingReader:
    """Decompressed-stream wrapper that refuses to hand out more than ``limit`` bytes."""

    def __init__(self, inner: gzip.GzipFile, *, limit: int) -> None:
        self._inner = inner
        self._limit = limit
        self._count = 0

    def read(self, size: int = -1) -> bytes:
        remaining = self._limit - self._count
        if size < 0 or size > remaining:
            size = remaining + 1  # one byte past the cap is enough to know it is exceeded
        data = self._inner.read(size)
        self._count += len(data)
        if self._count > self._limit:
            raise PayloadTooLarge("the upload is larger than allowed once uncompressed")
        return data


def safe_extract(archive: Path, dest: Path, *, max_bytes: int, max_files: int) -> None:
    """Unpack gzip tarball ``archive`` into the new directory ``dest``, or raise and leave nothing.

    Raises ``InvalidInput`` for unsafe or corrupt archives, ``PayloadTooLarge`` over the caps.
    """
    if dest.exists():
        raise FileExistsError(f"extraction target {dest} already exists")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.extract-"))
    try:
        _extract_all(archive, tmp, max_bytes=max_bytes, max_files=max_files)
        _check_symlinks(tmp)
        _normalise_dir_modes(tmp)
        tmp.rename(dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _extract_all(archive: Path, root: Path, *, max_bytes: int, max_files: int) -> None:
    limit = max_bytes + _HEADER_ALLOWANCE * (max_files + 4)
    try:
        with gzip.open(archive, "rb") as raw:
            reader = _CountingReader(raw, limit=limit)
            with tarfile.open(fileobj=reader, mode="r|") as tar:  # type: ignore[call-overload]
                _Extractor(tar, root, max_bytes=max_bytes, max_files=max_files).run()
    except (tarfile.TarError, gzip.BadGzipFile, zlib.error, EOFError) as exc:
        raise InvalidInput(f"the upload is not a valid .tar.gz archive ({exc})") from exc


class _Extractor:
    """Writes members of a streaming tar one by one, enforcing the caps and the path rules."""

    def __init__(self, tar: tarfile.TarFile, root: Path, *, max_bytes: int, max_files: int):
        self._tar = tar
        self._root = root
        self._max_bytes = max_bytes
        self._max_files = max_files
        self._bytes = 0
        self._files = 0

    def run(self) -> None:
        for member in self._tar:
            self._files += 1
            if self._files > self._max_files:
                raise PayloadTooLarge(f"the upload has more than {self._max_files} files")
            self._one(member)

    def _one(self, member: tarfile.TarInfo) -> None:
        parts = _safe_parts(member.name)
        if not parts:
            return  # the archive root itself ("./")
        path = self._prepare(parts, member)
        if member.isdir():
            path.mkdir(mode=0o755, exist_ok=True)
        elif member.isreg():
            self._write_file(member, path)
        elif member.issym():
            _check_link_target(member, parts)
            path.symlink_to(member.linkname)
        elif member.islnk():
            self._hardlink(member, path)
        else:
            raise InvalidInput(f"archive member {member.name!r} is not a file, directory or link")

    def _prepare(self, parts: list[str], member: tarfile.TarInfo) -> Path:
        """Create missing parents (never through a symlink) and clear a duplicate entry."""
        current = self._root
        for part in parts[:-1]:
            current = current / part
            if current.is_symlink():
                raise InvalidInput(f"archive member {member.name!r} lies inside a symlink")
            if current.exists() and not current.is_dir():
                raise InvalidInput(f"archive member {member.name!r} lies inside a file")
            current.mkdir(mode=0o755, exist_ok=True)
        path = current / parts[-1]
        if path.is_symlink() or path.is_file():
            path.unlink()  # a later duplicate wins, as with tar itself
        elif path.exists() and not member.isdir():
            raise InvalidInput(f"archive member {member.name!r} replaces a directory")
        return path

    def _write_file(self, member: tarfile.TarInfo, path: Path) -> None:
        source = self._tar.extractfile(member)
        if source is None:
            raise InvalidInput(f"archive member {member.name!r} has no content")
        mode = 0o755 if member.mode & 0o111 else 0o644
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        fd = os.open(path, flags, mode)
        with os.fdopen(fd, "wb") as out:
            os.fchmod(out.fileno(), mode)  # the umask must not decide, and no setuid/setgid
            while chunk := source.read(_CHUNK):
                self._bytes += len(chunk)
                if self._bytes > self._max_bytes:
                    raise PayloadTooLarge(f"the upload is larger than {self._max_bytes} bytes")
                out.write(chunk)

    def _hardlink(self, member: tarfile.TarInfo, path: Path) -> None:
        target_parts = _safe_parts(member.linkname)
        target = self._root.joinpath(*target_parts)
        if not target_parts or not _is_plain_file_inside(self._root, target_parts):
            raise InvalidInput(
                f"archive member {member.name!r} is a hard link to {member.linkname!r}, "
                "which is not a file earlier in the archive"
            )
        os.link(target, path, follow_symlinks=False)


def _safe_parts(name: str) -> list[str]:
    if name.startswith("/") or "\x00" in name:
        raise InvalidInput(f"archive member {name!r} has an absolute path")
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise InvalidInput(f"archive member {name!r} points outside the archive ('..')")
    return parts


def _check_link_target(member: tarfile.TarInfo, parts: list[str]) -> None:
    target = member.linkname
    if not target or target.startswith("/"):
        raise InvalidInput(f"archive member {member.name!r} is a symlink to an absolute path")
    resolved = os.path.normpath("/".join([*parts[:-1], target]))
    if resolved == ".." or resolved.startswith("../"):
        raise InvalidInput(f"archive member {member.name!r} is a symlink pointing outside")


def _is_plain_file_inside(root: Path, parts: list[str]) -> bool:
    current = root
    for part in parts:
        current = current / part
        if current.is_symlink():
            return False
    return current.is_file()


def _check_symlinks(root: Path) -> None:
    """Resolve every symlink for real: chains of individually-safe links may still escape."""
    real_root = root.resolve()
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            if path.is_symlink() and not path.resolve().is_relative_to(real_root):
                relative = path.relative_to(root)
                raise InvalidInput(
                    f"archive member {str(relative)!r} is a symlink pointing outside"
                )


def _normalise_dir_modes(root: Path) -> None:
    """Files got their mode when written; directories (some implicit) get 0755 only now."""
    for dirpath, _dirnames, _filenames in os.walk(root):
        Path(dirpath).chmod(0o755)
