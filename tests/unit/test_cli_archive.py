"""The deploy archive (kubidu.cli.archive).

Aspects checked:
* `.gitignore` and `.kubiduignore` patterns exclude files and whole directories;
* `!pattern` re-includes, and `.kubiduignore` overrides `.gitignore` in the same directory;
* nested ignore files apply relative to their own directory only;
* `.git` and `.kubidu` are always excluded, whatever the ignore files say;
* symlinks are stored as links, never followed (also links to directories outside the app);
* the tarball is gzip, with blanked owner names.
"""

import io
import os
import tarfile
from pathlib import Path

from kubidu.cli.archive import collect_paths, write_archive


def _tree(root: Path, files: dict[str, str]) -> None:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)


def test_gitignore_excludes_files_and_directories(tmp_path: Path) -> None:
    _tree(
        tmp_path,
        {
            ".gitignore": "*.log\nnode_modules/\n/secret.txt\n",
            "app.py": "",
            "debug.log": "",
            "node_modules/x/index.js": "",
            "secret.txt": "",
            "sub/secret.txt": "",
        },
    )
    assert collect_paths(tmp_path) == [".gitignore", "app.py", "sub", "sub/secret.txt"]


def test_negation_and_kubiduignore_override(tmp_path: Path) -> None:
    _tree(
        tmp_path,
        {
            ".gitignore": "*.log\n!keep.log\ndist/\n",
            ".kubiduignore": "!dist/\ntests/\n",
            "keep.log": "",
            "drop.log": "",
            "dist/bundle.js": "",
            "tests/test_app.py": "",
        },
    )
    assert collect_paths(tmp_path) == [
        ".gitignore",
        ".kubiduignore",
        "dist",
        "dist/bundle.js",
        "keep.log",
    ]


def test_nested_ignore_file_is_relative_to_its_directory(tmp_path: Path) -> None:
    _tree(
        tmp_path,
        {
            "a/.gitignore": "/cache\n",
            "a/cache/f": "",
            "a/b/cache/f": "",
            "cache/f": "",
        },
    )
    paths = collect_paths(tmp_path)
    assert "a/cache" not in paths
    assert "a/b/cache/f" in paths
    assert "cache/f" in paths


def test_git_and_kubidu_are_always_excluded(tmp_path: Path) -> None:
    _tree(
        tmp_path,
        {
            ".kubiduignore": "!.git/\n!.kubidu/\n",
            ".git/HEAD": "ref",
            ".kubidu/link.json": "{}",
            "vendor/lib/.git/HEAD": "ref",
            "main.py": "",
        },
    )
    assert collect_paths(tmp_path) == [".kubiduignore", "main.py", "vendor", "vendor/lib"]


def test_symlinks_are_stored_as_links_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    _tree(outside, {"big/file": "should not be packed"})
    app = tmp_path / "app"
    _tree(app, {"real.txt": "hi"})
    (app / "link.txt").symlink_to("real.txt")
    (app / "host").symlink_to(outside / "big", target_is_directory=True)

    paths = collect_paths(app)
    assert paths == ["host", "link.txt", "real.txt"]

    buffer = io.BytesIO()
    write_archive(app, paths, buffer)
    buffer.seek(0)
    with tarfile.open(fileobj=buffer, mode="r:gz") as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert members["link.txt"].issym() and members["link.txt"].linkname == "real.txt"
    assert members["host"].issym()
    assert members["real.txt"].isfile()
    assert all(m.uname == "" and m.uid == 0 for m in members.values())


def test_special_files_are_skipped(tmp_path: Path) -> None:
    _tree(tmp_path, {"a.txt": ""})
    os.mkfifo(tmp_path / "pipe")
    assert collect_paths(tmp_path) == ["a.txt"]
