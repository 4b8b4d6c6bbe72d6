"""Node.js dependencies: one ``node_modules`` per (team, lockfile, node version) in the cache.

Called by the builder for ``node`` apps. ``npm ci`` runs when a package-lock.json exists, else
``npm install``, in a temporary cache entry holding copies of package.json and the lockfile; the
builder then hardlinks the entry's ``node_modules`` into the release.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from kubidu.builds.cache import DependencyCache
from kubidu.builds.manifests import package_json
from kubidu.builds.stream import BuildFailed, StepRunner

# package.json fields that decide what npm installs (and which install scripts run);
# "start" and other scripts are deliberately left out so editing them keeps the cache warm.
_KEY_FIELDS = (
    "dependencies",
    "devDependencies",
    "optionalDependencies",
    "peerDependencies",
    "bundleDependencies",
    "overrides",
    "workspaces",
)
_INSTALL_SCRIPTS = ("preinstall", "install", "postinstall", "prepare")


@dataclass(frozen=True)
class NodeDeps:
    node_modules: Path
    cache_hit: bool
    key: str


class NodeInstaller:
    """Builds (or reuses) the node_modules of an app with ``npm``; ``node`` runs npm."""

    def __init__(self, *, npm: str, node: str, cache: DependencyCache) -> None:
        self._npm = npm
        self._node = node
        self._cache = cache
        self._version: str | None = None

    async def install(self, src: Path, *, owner: str, runner: StepRunner) -> NodeDeps:
        key = await self.key(src)
        await runner.log(f"==> Node.js dependencies (key {key})")

        async def populate(tmp: Path, _final: Path) -> None:
            await self._populate(src, tmp, runner)

        entry = await self._cache.ensure(owner, f"node-{key}", populate, user=runner.user)
        if entry.hit:
            await runner.log("==> Reusing cached node_modules")
        return NodeDeps(node_modules=entry.path / "node_modules", cache_hit=entry.hit, key=key)

    async def key(self, src: Path) -> str:
        """Hash of node's version, the lockfile and the dependency fields of package.json."""
        manifest = package_json(src)
        scripts = manifest.get("scripts")
        scripts = scripts if isinstance(scripts, dict) else {}
        fields = {name: manifest.get(name) for name in _KEY_FIELDS}
        fields["scripts"] = {name: scripts.get(name) for name in _INSTALL_SCRIPTS}
        hasher = hashlib.sha256(b"node\0" + (await self._node_version()).encode())
        hasher.update(json.dumps(fields, sort_keys=True).encode())
        lock = src / "package-lock.json"
        hasher.update(b"\0lock\0" + (lock.read_bytes() if lock.is_file() else b""))
        return hasher.hexdigest()[:24]

    async def _node_version(self) -> str:
        if self._version is None:
            self._version = await asyncio.to_thread(_node_version, self._node)
        return self._version

    async def _populate(self, src: Path, tmp: Path, runner: StepRunner) -> None:
        has_lock = await asyncio.to_thread(_copy_manifests, src, tmp, runner.user)
        verb = "ci" if has_lock else "install"
        argv = [self._npm, verb, "--no-audit", "--no-fund"]
        await runner.run(f"npm {verb}", argv, cwd=tmp)
        await asyncio.to_thread(_ensure_modules_dir, tmp / "node_modules", runner.user)


def _node_version(node: str) -> str:
    try:
        result = subprocess.run([node, "--version"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.SubprocessError) as exc:
        raise BuildFailed(f"node ({node!r}) does not run: {exc}") from exc
    return result.stdout.strip()


def _copy_manifests(src: Path, tmp: Path, user: tuple[int, int] | None) -> bool:
    names = [name for name in ("package.json", "package-lock.json") if (src / name).is_file()]
    for name in names:
        shutil.copyfile(src / name, tmp / name)
        if user is not None:
            shutil.chown(tmp / name, user[0], user[1])
    return "package-lock.json" in names


def _ensure_modules_dir(path: Path, user: tuple[int, int] | None) -> None:
    """npm creates no node_modules for an app without dependencies; the release expects one."""
    if not path.exists():
        path.mkdir()
        if user is not None:
            shutil.chown(path, user[0], user[1])
