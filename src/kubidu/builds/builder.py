"""The builder: uploaded source tarball in, immutable content-addressed release directory out.

Called by the control layer's deploy pipeline (one call per deployment build). Steps: unpack
safely, detect the app, install dependencies through the per-team cache (streaming every output
line to the build log), then publish ``<releases_dir>/<owner>/<digest>``, sealed read-only. The
digest covers the source tree and the dependency key, so an unchanged redeploy maps to the same
release and rollbacks never rebuild. When ``run_as`` is given (server running as root), installs
run as that team account and the release is readable by that team's group only.
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from kubidu.builds.archive import safe_extract
from kubidu.builds.cache import DependencyCache, owner_dir, private_dir
from kubidu.builds.detect import AppPlan, detect
from kubidu.builds.node_deps import NodeInstaller
from kubidu.builds.python_deps import PythonInstaller
from kubidu.builds.stream import BuildFailed, LogFn, StepRunner
from kubidu.builds.tree import link_tree, remove_tree, seal, tree_digest
from kubidu.security.sysusers import ensure_system_user

__all__ = ["BuildFailed", "BuildResult", "Builder"]

SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
BUILD_TIMEOUT_S = 15 * 60.0


@dataclass(frozen=True)
class BuildResult:
    """A finished build. ``artifact`` is the release directory (or, from the image builder, an
    image reference); ``env`` is the run-time env."""

    artifact: Path | str
    kind: str
    command: tuple[str, ...]
    env: dict[str, str]
    cache_hit: bool  # True when no dependency install ran (the cache had them)
    digest: str
    release_command: tuple[str, ...] = ()
    health_path: str | None = None


@dataclass(frozen=True)
class _Deps:
    key: str  # part of the release digest
    cache_hit: bool
    venv: Path | None = None
    node_modules: Path | None = None


class Builder:
    """Builds releases for every team; one instance per server, safe for concurrent builds."""

    def __init__(
        self,
        *,
        releases_dir: Path,
        cache_dir: Path,
        work_dir: Path,
        python: str = sys.executable,
        npm: str = "npm",
        max_bytes: int,
        max_files: int,
        timeout: float = BUILD_TIMEOUT_S,
    ) -> None:
        # Absolute paths: build steps run with other working directories.
        self._releases_dir = releases_dir.resolve()
        self._work_dir = work_dir.resolve()
        self._max_bytes = max_bytes
        self._max_files = max_files
        self._timeout = timeout
        self._cache = DependencyCache(root=cache_dir.resolve())
        self._npm = _resolve(npm)
        self._node = _node_beside(self._npm)
        self._python = PythonInstaller(python=python, cache=self._cache)
        self._node_installer = NodeInstaller(npm=self._npm, node=self._node, cache=self._cache)

    async def build(
        self, source: Path, *, owner: str, run_as: str | None, log: LogFn
    ) -> BuildResult:
        """Build ``source`` (a .tar.gz) for team ``owner``; raise InvalidInput/BuildFailed."""
        started = time.monotonic()
        user = await asyncio.to_thread(ensure_system_user, run_as) if run_as else None
        releases = owner_dir(self._releases_dir, owner, group=user[1] if user else None)
        staging = releases / f".build-{secrets.token_hex(8)}"
        try:
            await log("==> Unpacking upload")
            await asyncio.to_thread(self._extract, source, staging)
            plan = await asyncio.to_thread(detect, staging)
            await log(f"==> Detected {plan.kind} app")
            runner = self._runner(owner, user, log)
            deps = await self._dependencies(plan, staging, owner, runner)
            artifact, reused = await asyncio.to_thread(self._publish, staging, plan, deps, user)
        finally:
            await asyncio.to_thread(remove_tree, staging)
        what = "reused existing release" if reused else "release created"
        await log(f"==> Build done in {time.monotonic() - started:.1f} s: {what} {artifact.name}")
        return self._result(plan, deps, artifact)

    def discard(self, artifact: str) -> None:
        """Delete a release no deployment needs any more; anything outside the releases dir is
        left alone (blocking: the housekeeper calls it from a thread)."""
        path = Path(artifact).resolve()
        if self._releases_dir in path.parents:
            remove_tree(path)

    def _extract(self, source: Path, staging: Path) -> None:
        safe_extract(source, staging, max_bytes=self._max_bytes, max_files=self._max_files)

    def _runner(self, owner: str, user: tuple[int, int] | None, log: LogFn) -> StepRunner:
        """Build steps get a minimal env: no control-plane variables, team-private caches."""
        caches = self._cache.owner_root(owner, group=user[1] if user else None)
        env = {
            "PATH": f"{Path(self._node).parent}:{SYSTEM_PATH}",
            "HOME": str(private_dir(self._work_dir / "home" / owner, user=user)),
            "LANG": "C.UTF-8",
            "PYTHONUNBUFFERED": "1",  # so pip's lines reach the log as they are printed
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "PIP_NO_INPUT": "1",
            "PIP_CACHE_DIR": str(private_dir(caches / "pip-cache", user=user)),
            "npm_config_cache": str(private_dir(caches / "npm-cache", user=user)),
            "npm_config_update_notifier": "false",
            "npm_config_loglevel": "http",  # one line per fetch: a live log, not a long silence
        }
        return StepRunner(env=env, log=log, timeout=self._timeout, user=user)

    async def _dependencies(
        self, plan: AppPlan, src: Path, owner: str, runner: StepRunner
    ) -> _Deps:
        if plan.kind == "python":
            py = await self._python.install(src, owner=owner, runner=runner)
            return _Deps(key=py.key, cache_hit=py.cache_hit, venv=py.venv)
        if plan.kind == "node":
            await _drop_uploaded_modules(src, runner)
            node = await self._node_installer.install(src, owner=owner, runner=runner)
            return _Deps(key=node.key, cache_hit=node.cache_hit, node_modules=node.node_modules)
        return _Deps(key="", cache_hit=False)

    def _publish(
        self, staging: Path, plan: AppPlan, deps: _Deps, user: tuple[int, int] | None
    ) -> tuple[Path, bool]:
        """Move the staged tree to its digest name, unless that release exists already."""
        digest = tree_digest(staging, extra=f"{plan.kind}:{deps.key}")
        final = staging.parent / digest
        if final.is_dir():
            return final, True
        if deps.node_modules is not None:
            link_tree(deps.node_modules, staging / "node_modules")
        seal(staging, group=user[1] if user else None)
        try:
            staging.rename(final)
        except OSError:
            if not final.is_dir():
                raise
            return final, True  # a concurrent build of the same tree won the rename
        return final, False

    def _result(self, plan: AppPlan, deps: _Deps, artifact: Path) -> BuildResult:
        return BuildResult(
            artifact=artifact,
            kind=plan.kind,
            command=plan.command,
            env=self._run_env(deps, artifact),
            cache_hit=deps.cache_hit,
            digest=artifact.name,
            release_command=plan.release_command,
            health_path=plan.health_path,
        )

    def _run_env(self, deps: _Deps, artifact: Path) -> dict[str, str]:
        if deps.venv is not None:
            env = {"PATH": f"{deps.venv}/bin:{SYSTEM_PATH}", "VIRTUAL_ENV": str(deps.venv)}
            if (artifact / "pyproject.toml").is_file() and (artifact / "src").is_dir():
                env["PYTHONPATH"] = str(artifact / "src")  # src layout: deps-only install
            return {**env, "PYTHONUNBUFFERED": "1"}
        if deps.node_modules is not None:
            dirs = dict.fromkeys([str(artifact / "node_modules" / ".bin"), *self._tool_dirs()])
            return {"PATH": ":".join([*dirs, SYSTEM_PATH]), "NODE_ENV": "production"}
        return {}

    def _tool_dirs(self) -> list[str]:
        return [str(Path(self._node).parent), str(Path(self._npm).parent)]


async def _drop_uploaded_modules(src: Path, runner: StepRunner) -> None:
    """An uploaded node_modules was built elsewhere; the cache's own install replaces it."""
    uploaded = src / "node_modules"
    if uploaded.is_dir() and not uploaded.is_symlink():
        await runner.log("==> Ignoring uploaded node_modules")
        await asyncio.to_thread(shutil.rmtree, uploaded)
    elif uploaded.is_symlink() or uploaded.exists():
        uploaded.unlink()


def _resolve(program: str) -> str:
    if "/" in program:
        return program
    return shutil.which(program, path=SYSTEM_PATH) or program


def _node_beside(npm: str) -> str:
    """The node that runs this npm: next to it if there, else the system's."""
    beside = Path(npm).parent / "node"
    if "/" in npm and beside.is_file():
        return str(beside)
    return shutil.which("node", path=SYSTEM_PATH) or "node"
