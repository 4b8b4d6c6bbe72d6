"""Parsing of the app's own start configuration: ``Procfile`` and ``kubidu.toml``.

Called by ``detect.py``. Commands become argv tuples via ``shlex.split``: they are never run
through a shell, so ``$PORT`` stays a literal word here and the runtime expands it.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from dataclasses import dataclass
from pathlib import Path

from kubidu.core.errors import InvalidInput

_PROCESS_LINE = re.compile(r"^([A-Za-z0-9_-]+)\s*:\s*(.*)$")


@dataclass(frozen=True)
class DeclaredConfig:
    """What the app declared about itself; empty fields mean "detect it"."""

    start: tuple[str, ...] = ()
    release: tuple[str, ...] = ()
    health_path: str | None = None


def parse_procfile(text: str) -> dict[str, tuple[str, ...]]:
    """Map process type (``web``, ``worker``, ``release``…) to its argv."""
    processes: dict[str, tuple[str, ...]] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _PROCESS_LINE.match(line)
        if not match:
            raise InvalidInput(f"Procfile line {number} is not 'name: command': {line!r}")
        processes[match.group(1)] = _split(match.group(2), where=f"Procfile line {number}")
    return processes


def read_declared(src: Path) -> DeclaredConfig:
    """Read ``kubidu.toml`` ([deploy] start/release/health_path) over the ``Procfile``."""
    procfile = src / "Procfile"
    processes = parse_procfile(_read_text(procfile)) if procfile.is_file() else {}
    deploy = _read_deploy_table(src / "kubidu.toml")
    start = deploy.get("start")
    release = deploy.get("release")
    return DeclaredConfig(
        start=_split(start, where="kubidu.toml start") if start else processes.get("web", ()),
        release=(
            _split(release, where="kubidu.toml release")
            if release
            else processes.get("release", ())
        ),
        health_path=_health_path(deploy.get("health_path")),
    )


def _read_deploy_table(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(_read_text(path))
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"kubidu.toml is not valid TOML: {exc}") from exc
    deploy = data.get("deploy", {})
    if not isinstance(deploy, dict):
        raise InvalidInput("kubidu.toml: [deploy] must be a table")
    for key in ("start", "release", "health_path"):
        if key in deploy and not isinstance(deploy[key], str):
            raise InvalidInput(f"kubidu.toml: deploy.{key} must be a string")
    return {key: value for key, value in deploy.items() if isinstance(value, str)}


def _health_path(value: str | None) -> str | None:
    if value is None:
        return None
    if not value.startswith("/") or any(ch.isspace() for ch in value):
        raise InvalidInput(
            f"kubidu.toml: health_path must be a URL path like '/health', not {value!r}"
        )
    return value


def _split(command: str, *, where: str) -> tuple[str, ...]:
    try:
        argv = tuple(shlex.split(command))
    except ValueError as exc:
        raise InvalidInput(f"{where}: cannot parse command {command!r}: {exc}") from exc
    if not argv:
        raise InvalidInput(f"{where}: the command is empty")
    return argv


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{path.name} is not UTF-8 text") from exc
