"""Pack an app directory into the gzip tarball that `kubidu deploy` uploads.

Called by `commands/deploy.py`. What goes in:

* every file, directory and symlink under the root, in sorted order, except
* `.git` and `.kubidu` at any depth (always), and
* whatever `.gitignore` / `.kubiduignore` files exclude, with git's semantics (gitwildmatch
  via `pathspec`): a file's patterns apply below its own directory, deeper files and later
  lines win, `!pattern` re-includes, and an excluded directory is never entered. In one
  directory `.kubiduignore` is read after `.gitignore`, so it can re-include build output
  that git ignores.

Hazards: symlinks are stored as links and never followed (a link to `/` must not pack the
host); sockets, FIFOs and devices are skipped; owner names and ids are blanked so the archive
does not leak local account names.
"""

import os
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pathspec

IGNORE_FILES = (".gitignore", ".kubiduignore")
ALWAYS_EXCLUDED = frozenset({".git", ".kubidu"})


@dataclass(frozen=True)
class _Rules:
    """The patterns of one ignore file and the directory (relative, posix) they apply under."""

    base: str
    spec: pathspec.GitIgnoreSpec


def collect_paths(root: Path) -> list[str]:
    """Return the relative posix paths to pack (directories, files and symlinks)."""
    paths: list[str] = []
    _collect(root, "", [], paths)
    return paths


def write_archive(root: Path, paths: list[str], fileobj: IO[bytes]) -> None:
    """Write a gzip tarball of `paths` (relative to `root`) into `fileobj`."""
    with tarfile.open(fileobj=fileobj, mode="w:gz") as tar:
        for rel in paths:
            tar.add(root / rel, arcname=rel, recursive=False, filter=_anonymize)


def is_ignored(rel: str, *, is_dir: bool, rules: list[_Rules]) -> bool:
    """Apply the ignore rules in order; the last pattern that matches decides."""
    ignored = False
    for rule in rules:
        if rule.base and not rel.startswith(rule.base + "/"):
            continue
        local = rel[len(rule.base) + 1 :] if rule.base else rel
        verdict = rule.spec.check_file(local + "/" if is_dir else local).include
        if verdict is not None:
            ignored = verdict
    return ignored


def _collect(root: Path, rel_dir: str, inherited: list[_Rules], out: list[str]) -> None:
    """Append the packable entries of `root/rel_dir` to `out`, recursing into directories."""
    directory = root / rel_dir if rel_dir else root
    rules = inherited + _read_rules(directory, rel_dir)
    for entry in sorted(os.scandir(directory), key=lambda e: e.name):
        rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
        is_dir = entry.is_dir(follow_symlinks=False)
        if _excluded(entry, rel, is_dir=is_dir, rules=rules):
            continue
        out.append(rel)
        if is_dir:
            _collect(root, rel, rules, out)


def _excluded(entry: os.DirEntry[str], rel: str, *, is_dir: bool, rules: list[_Rules]) -> bool:
    """Whether an entry stays out of the archive: reserved, special, or ignored."""
    if entry.name in ALWAYS_EXCLUDED:
        return True  # at any depth: nested repos and links are local state too
    if not (is_dir or entry.is_symlink() or entry.is_file(follow_symlinks=False)):
        return True  # sockets, FIFOs, devices: nothing an app build can use
    return is_ignored(rel, is_dir=is_dir, rules=rules)


def _read_rules(directory: Path, rel_dir: str) -> list[_Rules]:
    """Load `.gitignore` then `.kubiduignore` of one directory, when present."""
    rules = []
    for name in IGNORE_FILES:
        path = directory / name
        if path.is_file() and not path.is_symlink():
            lines = path.read_text(errors="replace").splitlines()
            rules.append(_Rules(base=rel_dir, spec=pathspec.GitIgnoreSpec.from_lines(lines)))
    return rules


def _anonymize(info: tarfile.TarInfo) -> tarfile.TarInfo:
    """Drop local owner details from an archive member."""
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info
