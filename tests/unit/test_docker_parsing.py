"""Pure pieces of the docker runtime issue.

Aspects checked:
* ``kubidu scale`` arguments: ``web=2``, a bare count, memory sizes in M/G/Mi/bytes, and
  clear usage errors for malformed values;
* generated Dockerfiles: dependencies installed in their own layer before the source is
  copied (Python with requirements, Node with and without a lockfile), a non-root user, no
  install step for an empty requirements file; the app's own Dockerfile wins; static → None;
* Engine values: exit codes 128+N → -N, nanosecond timestamps, the stats arithmetic.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kubidu.builds.dockerfiles import BaseImages, plan_image
from kubidu.cli.commands.scale import parse_memory, parse_scale
from kubidu.cli.errors import UsageError
from kubidu.runtimes.docker.containers import exit_code, nanos
from kubidu.runtimes.docker.stats import cpu_percent, memory_bytes

BASES = BaseImages(python="py:base", node="node:base")


def test_scale_arguments() -> None:
    assert parse_scale("web=2", default_service="api") == ("web", 2)
    assert parse_scale("3", default_service="api") == ("api", 3)
    assert parse_scale(None, default_service="api") == ("api", None)
    for bad in ("web=", "=2", "web=two", "web=-1"):
        with pytest.raises(UsageError):
            parse_scale(bad, default_service="api")


def test_memory_sizes() -> None:
    assert [parse_memory(v) for v in ("256M", "1G", "512Mi", "300", "2g")] == [
        256,
        1024,
        512,
        300,
        2048,
    ]
    assert parse_memory(None) is None
    for bad in ("lots", "-5M", "1.5G", "100b"):
        with pytest.raises(UsageError):
            parse_memory(bad)


def test_python_dockerfile_caches_dependencies(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("# web\nflask==3.0\n")
    (tmp_path / "app.py").write_text("app = None\n")
    plan = plan_image(tmp_path, bases=BASES)
    assert plan is not None and plan.kind == "python" and plan.dockerfile is not None
    lines = plan.dockerfile.splitlines()
    assert lines[0] == "FROM py:base"
    install = lines.index("RUN python3 -m pip install -r /app/requirements.txt")
    assert lines.index("COPY requirements.txt /app/requirements.txt") < install
    assert install < lines.index("COPY . /app") < lines.index("USER 10001:10001")


def test_empty_requirements_install_nothing(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("\n# nothing\n")
    (tmp_path / "app.py").write_text("print('hi')\n")
    plan = plan_image(tmp_path, bases=BASES)
    assert plan is not None and plan.dockerfile is not None
    assert "pip install" not in plan.dockerfile and plan.command == ("python", "app.py")


@pytest.mark.parametrize(("locked", "install"), [(True, "npm ci"), (False, "npm install")])
def test_node_dockerfile(tmp_path: Path, locked: bool, install: str) -> None:
    (tmp_path / "package.json").write_text('{"scripts": {"start": "node server.js"}}')
    if locked:
        (tmp_path / "package-lock.json").write_text("{}")
    plan = plan_image(tmp_path, bases=BASES)
    assert plan is not None and plan.dockerfile is not None and plan.command == ("npm", "start")
    lines = plan.dockerfile.splitlines()
    assert lines[0] == "FROM node:base"
    run = f"RUN {install} --omit=dev --no-audit --no-fund"
    assert lines.index(run) < lines.index("COPY . /app")


def test_own_dockerfile_wins_and_static_needs_no_image(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "app.py").write_text("print('hi')\n")
    plan = plan_image(tmp_path, bases=BASES)
    assert plan is not None and (plan.kind, plan.dockerfile, plan.command) == ("docker", None, ())
    static = tmp_path / "site"
    static.mkdir()
    (static / "index.html").write_text("<h1>hi</h1>")
    assert plan_image(static, bases=BASES) is None


def test_engine_values() -> None:
    assert [exit_code(c) for c in (0, 1, 137, 143, 255, None)] == [0, 1, -9, -15, 255, None]
    assert nanos("1970-01-01T00:00:01.000000123Z") == 1_000_000_123
    assert nanos("1970-01-01T00:00:02Z") == 2_000_000_000
    raw = {
        "cpu_stats": {
            "cpu_usage": {"total_usage": 300},
            "system_cpu_usage": 2000,
            "online_cpus": 2,
        },
        "precpu_stats": {"cpu_usage": {"total_usage": 100}, "system_cpu_usage": 1000},
        "memory_stats": {"usage": 50_000_000, "stats": {"cache": 10_000_000}},
    }
    assert cpu_percent(raw) == 40.0
    assert memory_bytes(raw) == 40_000_000
