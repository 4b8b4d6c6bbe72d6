"""Receiving an app's source tarball: size-capped copy to disk, then a safety check.

The archive is checked here, at the boundary, by unpacking it with the same safe extractor the
builder uses (into a scratch dir that is thrown away), so a hostile archive gets a clear 4xx
before anything is stored or queued.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from fastapi import UploadFile
from starlette.concurrency import run_in_threadpool

from kubidu.builds.archive import safe_extract
from kubidu.core.errors import PayloadTooLarge

_CHUNK = 1 << 20


@dataclass(frozen=True)
class UploadLimits:
    max_bytes: int
    max_files: int


async def receive(upload: UploadFile, *, into: Path, limits: UploadLimits) -> Path:
    """Copy the upload into a new file under ``into``; the caller owns the file."""
    fd, name = tempfile.mkstemp(dir=into, suffix=".tar.gz")
    path = Path(name)
    try:
        with open(fd, "wb") as handle:
            await _copy_capped(upload, handle, limits.max_bytes)
        await run_in_threadpool(_check_archive, path, limits)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


async def _copy_capped(upload: UploadFile, handle: object, max_bytes: int) -> None:
    written = 0
    while chunk := await upload.read(_CHUNK):
        written += len(chunk)
        if written > max_bytes:
            raise PayloadTooLarge(f"upload is larger than {max_bytes // (1 << 20)} MiB")
        handle.write(chunk)  # type: ignore[attr-defined]


def _check_archive(path: Path, limits: UploadLimits) -> None:
    scratch = Path(tempfile.mkdtemp(dir=path.parent))
    try:
        safe_extract(
            path, scratch / "src", max_bytes=limits.max_bytes * 10, max_files=limits.max_files
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
