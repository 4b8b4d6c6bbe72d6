"""Reading the dependency manifests of an app: requirements files, pyproject.toml, package.json.

Called by ``detect.py`` (to pick a default start command) and by the dependency installers (to
compute cache keys and know what to install). Pure reads of the unpacked source; no installs.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

from kubidu.core.errors import InvalidInput

_REQ_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def requirement_files(src: Path) -> list[Path]:
    """``requirements.txt`` plus top-level ``requirements*.txt``/``constraints*.txt`` it may use.

    Files named by ``-r``/``-c`` lines usually sit beside it; all of them shape the install,
    so all of them go into the cache key and into the install directory.
    """
    patterns = ("requirements*.txt", "constraints*.txt")
    found = {path for pattern in patterns for path in src.glob(pattern) if path.is_file()}
    return sorted(found)


def pyproject_dependencies(src: Path) -> list[str]:
    """``[project].dependencies`` of ``pyproject.toml`` (PEP 621), or an empty list."""
    path = src / "pyproject.toml"
    if not path.is_file():
        return []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"pyproject.toml is not valid TOML: {exc}") from exc
    deps = data.get("project", {}).get("dependencies", [])
    if not isinstance(deps, list) or not all(isinstance(dep, str) for dep in deps):
        raise InvalidInput("pyproject.toml: [project].dependencies must be a list of strings")
    for dep in deps:
        if dep.lstrip().startswith("-"):  # would reach pip's argv as an option
            raise InvalidInput(f"pyproject.toml: {dep!r} is not a dependency specifier")
    return deps


def requirement_names(src: Path) -> set[str]:
    """Normalised distribution names the app depends on (for start-command defaults)."""
    lines: list[str] = []
    req = src / "requirements.txt"
    if req.is_file():
        lines = req.read_text(encoding="utf-8", errors="replace").splitlines()
    lines += pyproject_dependencies(src)
    names = (_REQ_NAME.match(line) for line in lines if not line.lstrip().startswith("-"))
    return {re.sub(r"[-_.]+", "-", m.group(1)).lower() for m in names if m}


def package_json(src: Path) -> dict[str, Any]:
    """The parsed ``package.json`` (an object), or InvalidInput."""
    try:
        data = json.loads((src / "package.json").read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"package.json is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise InvalidInput("package.json must contain a JSON object")
    return data
