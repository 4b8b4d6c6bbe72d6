"""Detect what kind of app an upload is and how to start it.

Called by the builder after unpacking. The order of precedence for the start command is
``kubidu.toml`` ``[deploy] start``, then the ``Procfile`` ``web:`` line, then a default derived
from the files present. Commands are argv tuples; ``$PORT`` is left for the runtime to expand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from kubidu.builds.manifests import package_json, requirement_names
from kubidu.builds.procfile import read_declared
from kubidu.core.errors import InvalidInput

_PYTHON_MODULES = ("app", "wsgi", "main")
_ALL_INTERFACES = "0.0.0.0"  # noqa: S104 - apps must listen where the edge can reach them
_EXPOSES_APP = re.compile(r"^(app\s*(:[^=\n]*)?=|def app\s*\()", re.MULTILINE)
_LOOKED_FOR = (
    "could not tell what kind of app this is: expected at the top level of the upload "
    "requirements.txt or pyproject.toml (Python), package.json (Node.js), "
    "app.py or main.py (Python without dependencies), or index.html (static site)"
)


@dataclass(frozen=True)
class AppPlan:
    """How to build and run an app. ``command`` is empty for static sites."""

    kind: str  # "python" | "node" | "static"
    command: tuple[str, ...]
    port_required: bool
    release_command: tuple[str, ...] = ()
    health_path: str | None = None


def detect(src: Path) -> AppPlan:
    """Return the plan for the unpacked source tree ``src``, or raise InvalidInput."""
    declared = read_declared(src)
    kind = detect_kind(src)
    if kind == "static":
        return AppPlan("static", (), False, health_path=declared.health_path)
    command = declared.start or _default_command(kind, src)
    return AppPlan(kind, command, True, declared.release, declared.health_path)


def detect_kind(src: Path) -> str:
    """``python``, ``node`` or ``static``; Python markers win when several are present."""
    if (src / "requirements.txt").is_file() or (src / "pyproject.toml").is_file():
        return "python"
    if (src / "package.json").is_file():
        return "node"
    if (src / "index.html").is_file():
        return "static"
    if (src / "app.py").is_file() or (src / "main.py").is_file():
        return "python"
    raise InvalidInput(_LOOKED_FOR)


def _default_command(kind: str, src: Path) -> tuple[str, ...]:
    return _python_command(src) if kind == "python" else _node_command(src)


def _python_command(src: Path) -> tuple[str, ...]:
    names = requirement_names(src)
    module = _app_module(src)
    if module and "gunicorn" in names:
        return ("gunicorn", f"{module}:app", "--bind", f"{_ALL_INTERFACES}:$PORT", "--workers", "2")
    if module and "uvicorn" in names:
        return ("uvicorn", f"{module}:app", "--host", _ALL_INTERFACES, "--port", "$PORT")
    for script in ("app.py", "main.py"):
        if (src / script).is_file():
            return ("python", script)
    raise InvalidInput(
        "Python app without a start command: add a Procfile with a 'web:' line, "
        "set [deploy] start in kubidu.toml, or provide app.py or main.py"
    )


def _app_module(src: Path) -> str | None:
    """The first of app.py, wsgi.py, main.py that defines a top-level ``app``."""
    for module in _PYTHON_MODULES:
        path = src / f"{module}.py"
        if path.is_file() and _EXPOSES_APP.search(path.read_text("utf-8", errors="replace")):
            return module
    return None


def _node_command(src: Path) -> tuple[str, ...]:
    scripts = package_json(src).get("scripts")
    if isinstance(scripts, dict) and isinstance(scripts.get("start"), str):
        return ("npm", "start")
    for script in ("server.js", "index.js"):
        if (src / script).is_file():
            return ("node", script)
    raise InvalidInput(
        "Node.js app without a start command: add a 'start' script to package.json, "
        "a Procfile with a 'web:' line, or provide server.js or index.js"
    )
