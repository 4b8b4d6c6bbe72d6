"""The bare repository behind each service's git remote, created on first use.

``<root>/<project id>/<service>.git``: the project id (not its name) keeps teams apart even
when two teams have projects of the same name. Each repository gets the pre-receive hook of
``hook.py``, which hands pushed commits to the control plane; a push the platform cannot
deploy is rejected there, so the branch never moves to a commit that did not go live.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from kubidu.git.run import run_git

HOOK = """#!/bin/sh
# Installed by Kubidu: hands pushed commits to the control plane (kubidu.git.hook).
exec {python} -m kubidu.git.hook
"""


class GitRepos:
    def __init__(self, *, root: Path, max_push_mb: int, python: str = sys.executable) -> None:
        self.root = root
        self._max_push_mb = max_push_mb
        self._python = python

    def project_root(self, project_id: str) -> Path:
        return self.root / project_id

    def path(self, project_id: str, service: str) -> Path:
        return self.project_root(project_id) / f"{service}.git"

    async def ensure(self, project_id: str, service: str) -> Path:
        """The service's bare repository, created (with its hook) if missing."""
        repo = self.path(project_id, service)
        if not (repo / "HEAD").exists():
            repo.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            await run_git("init", "--quiet", "--bare", "--initial-branch=main", "--", str(repo))
            for key, value in self._config().items():
                await run_git("config", "--", key, value, cwd=repo)
        self._install_hook(repo)
        return repo

    def _config(self) -> dict[str, str]:
        return {
            "http.receivepack": "true",
            "receive.maxInputSize": str(self._max_push_mb << 20),
            "receive.denyDeletes": "false",
            "receive.fsckObjects": "true",
        }

    def _install_hook(self, repo: Path) -> None:
        hook = repo / "hooks" / "pre-receive"
        text = HOOK.format(python=shlex.quote(self._python))
        if not hook.exists() or hook.read_text() != text:
            hook.parent.mkdir(exist_ok=True)
            hook.write_text(text)
            hook.chmod(0o755)
