"""Python dependencies: one virtualenv per (team, requirements, interpreter) in the cache.

Called by the builder for ``python`` apps. The venv is created with ``python -m venv`` and filled
with ``pip install -r requirements.txt`` (or the ``[project].dependencies`` of pyproject.toml),
inside a temporary cache entry that is renamed into place afterwards. A tricky part: venvs are
not relocatable — console scripts carry the venv path in their shebang, and byte-compiled files
carry source paths — so pip is told not to compile, bytecode is compiled with the *final* path
(``compileall -s/-p``), and the bin scripts are rewritten to the final path before the rename.
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
from kubidu.builds.manifests import pyproject_dependencies, requirement_files
from kubidu.builds.stream import BuildFailed, StepRunner
from kubidu.builds.tree import chown_tree


@dataclass(frozen=True)
class PythonDeps:
    venv: Path
    cache_hit: bool
    key: str


class PythonInstaller:
    """Builds (or reuses) the venv of an app; ``python`` is the interpreter apps will run on."""

    def __init__(self, *, python: str, cache: DependencyCache) -> None:
        self._python = python
        self._cache = cache
        self._identity: str | None = None

    async def install(self, src: Path, *, owner: str, runner: StepRunner) -> PythonDeps:
        key = await self.key(src)
        await runner.log(f"==> Python dependencies (key {key})")

        async def populate(tmp: Path, final: Path) -> None:
            await self._populate(src, tmp, final, runner)

        entry = await self._cache.ensure(owner, f"python-{key}", populate, user=runner.user)
        if entry.hit:
            await runner.log("==> Reusing cached virtualenv")
        return PythonDeps(venv=entry.path / "venv", cache_hit=entry.hit, key=key)

    async def key(self, src: Path) -> str:
        """Hash of the interpreter identity and everything that decides what pip installs."""
        hasher = hashlib.sha256(b"python\0" + (await self._interpreter()).encode())
        for path in requirement_files(src):
            hasher.update(f"\0{path.name}\0".encode() + path.read_bytes())
        if not (src / "requirements.txt").is_file():
            hasher.update(json.dumps(pyproject_dependencies(src)).encode())
        return hasher.hexdigest()[:24]

    async def _interpreter(self) -> str:
        if self._identity is None:
            self._identity = await asyncio.to_thread(_interpreter_identity, self._python)
        return self._identity

    async def _populate(self, src: Path, tmp: Path, final: Path, runner: StepRunner) -> None:
        reqs = await asyncio.to_thread(_copy_requirements, src, tmp / "requirements", runner)
        venv = tmp / "venv"
        await runner.run("Creating virtualenv", [self._python, "-m", "venv", str(venv)], cwd=tmp)
        pip_args = _pip_args(src)
        if pip_args:
            pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--no-compile"]
            await runner.run(
                "Installing requirements", [*pip, "--progress-bar", "off", *pip_args], cwd=reqs
            )
        await _compile(venv, tmp, final, runner)
        await asyncio.to_thread(_relocate, venv, str(tmp), str(final))


def _interpreter_identity(python: str) -> str:
    argv = [python, "-c", "import sys; print(sys.version, sys.platform, sys.base_prefix)"]
    try:
        result = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        raise BuildFailed(f"the build interpreter {python!r} does not run: {exc}") from exc
    return result.stdout.strip()


def _copy_requirements(src: Path, dest: Path, runner: StepRunner) -> Path:
    """Copy the requirement files where the (possibly unprivileged) pip can read them."""
    dest.mkdir()
    for path in requirement_files(src):
        shutil.copyfile(path, dest / path.name)
    if runner.user is not None:
        chown_tree(dest, uid=runner.user[0], gid=runner.user[1])
    return dest


def _pip_args(src: Path) -> list[str]:
    if (src / "requirements.txt").is_file():
        return ["-r", "requirements.txt"]
    return pyproject_dependencies(src)


async def _compile(venv: Path, tmp: Path, final: Path, runner: StepRunner) -> None:
    argv = [str(venv / "bin" / "python"), "-m", "compileall", "-q", "-j", "0"]
    argv += ["-s", str(tmp), "-p", str(final), str(venv / "lib")]
    try:
        await runner.run("Compiling bytecode", argv, cwd=tmp)
    except BuildFailed:
        # Like pip, tolerate packages that ship files this interpreter cannot compile.
        await runner.log("(some files could not be byte-compiled; they will be compiled on import)")


def _relocate(venv: Path, old: str, new: str) -> None:
    """Point scripts and metadata written under the temporary path at the final path."""
    candidates = [venv / "pyvenv.cfg", *(venv / "bin").iterdir()]
    for path in candidates:
        if path.is_symlink() or not path.is_file():
            continue
        data = path.read_bytes()
        if old.encode() in data:
            path.write_bytes(data.replace(old.encode(), new.encode()))
