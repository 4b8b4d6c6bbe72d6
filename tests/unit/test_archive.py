"""Safe extraction of uploaded tarballs (``kubidu.builds.archive.safe_extract``).

Aspects checked:
* a well-formed archive lands in ``dest`` with normalised modes (0644/0755, setuid stripped),
  inner symlinks and hardlinks kept;
* hostile archives are refused with InvalidInput naming the member: ``..`` traversal, absolute
  paths, symlinks and hardlinks pointing outside (directly, absolutely, or through a chain of
  links), writes through a symlinked directory, device files and fifos;
* caps: too many members, too many bytes, a gzip bomb and a huge pax header stop with
  PayloadTooLarge while streaming;
* garbage bytes, a non-tar gzip and a truncated gzip are InvalidInput;
* after every failure ``dest`` does not exist and nothing is left beside it.
"""

from __future__ import annotations

import gzip
import io
import os
import stat
import tarfile
from pathlib import Path

import pytest

from kubidu.builds.archive import safe_extract
from kubidu.core.errors import InvalidInput, PayloadTooLarge

MAX_BYTES = 1 << 20
MAX_FILES = 50

Member = tuple[tarfile.TarInfo, bytes | None]


def _file(name: str, data: bytes = b"x", mode: int = 0o644) -> Member:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    return info, data


def _entry(name: str, kind: bytes, *, linkname: str = "") -> Member:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    return info, None


def _tarball(path: Path, members: list[Member], *, fmt: int = tarfile.GNU_FORMAT) -> Path:
    with tarfile.open(path, "w:gz", format=fmt) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """Parent of the extraction target; must be empty after a failed extraction."""
    path = tmp_path / "out"
    path.mkdir()
    return path


def _refused(archive: Path, out: Path, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        safe_extract(archive, out / "dest", max_bytes=MAX_BYTES, max_files=MAX_FILES)
    assert list(out.iterdir()) == []  # neither dest nor a temporary directory is left


def test_good_archive_is_extracted_with_normalised_modes(tmp_path: Path, out: Path) -> None:
    archive = _tarball(
        tmp_path / "ok.tgz",
        [
            _entry("./", tarfile.DIRTYPE),
            _file("app.py", b"print('hi')\n", mode=0o600),
            _file("bin/run", b"#!/bin/sh\n", mode=0o4777),  # setuid + world-writable
            _entry("static/", tarfile.DIRTYPE),
            _file("static/a/deep.txt", b"deep"),  # parent dir without its own entry
            _entry("static/current", tarfile.SYMTYPE, linkname="a/deep.txt"),
            _entry("copy.py", tarfile.LNKTYPE, linkname="app.py"),
        ],
    )
    dest = out / "dest"
    safe_extract(archive, dest, max_bytes=MAX_BYTES, max_files=MAX_FILES)
    assert (dest / "app.py").read_text() == "print('hi')\n"
    assert stat.S_IMODE((dest / "app.py").stat().st_mode) == 0o644
    assert stat.S_IMODE((dest / "bin" / "run").stat().st_mode) == 0o755
    assert stat.S_IMODE((dest / "static" / "a").stat().st_mode) == 0o755
    assert (dest / "static" / "current").read_text() == "deep"
    assert (dest / "static" / "current").readlink() == Path("a/deep.txt")
    assert (dest / "copy.py").read_text() == "print('hi')\n"
    assert sorted(p.name for p in out.iterdir()) == ["dest"]


@pytest.mark.parametrize(
    ("members", "match"),
    [
        ([_file("../evil")], r"'\.\./evil'.*outside"),
        ([_file("a/../../evil")], r"'a/\.\./\.\./evil'.*outside"),
        ([_file("/etc/evil")], r"'/etc/evil'.*absolute"),
        ([_entry("up", tarfile.SYMTYPE, linkname="../../etc")], r"'up'.*symlink pointing outside"),
        ([_entry("pw", tarfile.SYMTYPE, linkname="/etc/passwd")], r"'pw'.*absolute"),
        (
            [_entry("d/", tarfile.DIRTYPE), _entry("d/x", tarfile.SYMTYPE, linkname="../..")],
            r"'d/x'.*symlink pointing outside",
        ),
        (
            # each link looks inside on its own; together they escape (d/up -> root, then ..)
            [
                _entry("d/", tarfile.DIRTYPE),
                _entry("d/up", tarfile.SYMTYPE, linkname=".."),
                _entry("esc", tarfile.SYMTYPE, linkname="d/up/.."),
            ],
            r"'esc'.*symlink pointing outside",
        ),
        (
            [_entry("sub", tarfile.SYMTYPE, linkname="."), _file("sub/file")],
            r"'sub/file'.*inside a symlink",
        ),
        ([_entry("h", tarfile.LNKTYPE, linkname="../../etc/passwd")], r"'\.\./\.\./etc/passwd'"),
        ([_entry("h", tarfile.LNKTYPE, linkname="/etc/passwd")], r"'/etc/passwd'.*absolute"),
        ([_entry("h", tarfile.LNKTYPE, linkname="missing")], r"'h' is a hard link"),
        ([_entry("tty", tarfile.CHRTYPE)], r"'tty' is not a file"),
        ([_entry("disk", tarfile.BLKTYPE)], r"'disk' is not a file"),
        ([_entry("pipe", tarfile.FIFOTYPE)], r"'pipe' is not a file"),
        ([_file("a"), _file("a/b")], r"'a/b' lies inside a file"),
    ],
)
def test_hostile_members_are_refused(
    tmp_path: Path, out: Path, members: list[Member], match: str
) -> None:
    _refused(_tarball(tmp_path / "bad.tgz", members), out, InvalidInput, match)


def test_nothing_is_written_outside_dest(tmp_path: Path, out: Path) -> None:
    archive = _tarball(tmp_path / "bad.tgz", [_file("ok.txt"), _file("../../escaped")])
    _refused(archive, out, InvalidInput, "outside")
    assert not (tmp_path / "escaped").exists()
    assert not (tmp_path.parent / "escaped").exists()


def test_too_many_files(tmp_path: Path, out: Path) -> None:
    members = [_file(f"f{i}") for i in range(MAX_FILES + 1)]
    _refused(_tarball(tmp_path / "many.tgz", members), out, PayloadTooLarge, "more than 50 files")


def test_too_many_bytes(tmp_path: Path, out: Path) -> None:
    members = [_file("a", os.urandom(MAX_BYTES // 2)), _file("b", os.urandom(MAX_BYTES // 2 + 1))]
    _refused(_tarball(tmp_path / "big.tgz", members), out, PayloadTooLarge, "larger than")


def test_gzip_bomb_stops_at_the_cap(tmp_path: Path, out: Path) -> None:
    archive = _tarball(tmp_path / "bomb.tgz", [_file("zeros", bytes(32 * MAX_BYTES))])
    assert archive.stat().st_size < MAX_BYTES // 8  # tiny on disk, 32x the cap unpacked
    _refused(archive, out, PayloadTooLarge, "larger than")


def test_huge_pax_header_is_not_read_into_memory(tmp_path: Path, out: Path) -> None:
    info, data = _file("small.txt", b"hi")
    info.pax_headers = {"comment": "x" * (4 * MAX_BYTES)}  # a header, not file content
    archive = _tarball(tmp_path / "pax.tgz", [(info, data)], fmt=tarfile.PAX_FORMAT)
    _refused(archive, out, PayloadTooLarge, "larger than allowed")


def test_garbage_bytes(tmp_path: Path, out: Path) -> None:
    archive = tmp_path / "garbage.tgz"
    archive.write_bytes(os.urandom(4096))
    _refused(archive, out, InvalidInput, "not a valid .tar.gz")


def test_gzip_that_is_not_a_tar(tmp_path: Path, out: Path) -> None:
    archive = tmp_path / "notar.tgz"
    archive.write_bytes(gzip.compress(b"hello, this is not a tar archive\n" * 100))
    _refused(archive, out, InvalidInput, "not a valid .tar.gz")


def test_truncated_archive(tmp_path: Path, out: Path) -> None:
    whole = _tarball(tmp_path / "whole.tgz", [_file("a", os.urandom(100_000))]).read_bytes()
    archive = tmp_path / "cut.tgz"
    archive.write_bytes(whole[: len(whole) // 2])
    _refused(archive, out, InvalidInput, "not a valid .tar.gz")
