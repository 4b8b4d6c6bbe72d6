"""Running ``git`` as a subprocess: argv lists only, a clean environment, clear errors.

Used by the other modules of this package. Git's own configuration files are ignored (no
system or global config), so an operator's ``~/.gitconfig`` cannot change what the platform
does; credentials travel in ``GIT_CONFIG_*`` environment entries, never in argv where ``ps``
would show them.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from pathlib import Path


class GitError(Exception):
    """A git command failed; the message carries git's own last lines of stderr."""


def git_env(
    extra: Mapping[str, str] | None = None, *, config: Mapping[str, str] = {}
) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": "/nonexistent",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_TERMINAL_PROMPT": "0",
        "LC_ALL": "C",
    }
    env["GIT_CONFIG_COUNT"] = str(len(config))
    for index, (key, value) in enumerate(config.items()):
        env[f"GIT_CONFIG_KEY_{index}"] = key
        env[f"GIT_CONFIG_VALUE_{index}"] = value
    env.update(extra or {})
    return env


async def run_git(
    *args: str,
    cwd: Path | None = None,
    config: Mapping[str, str] = {},
    timeout_s: float = 300.0,
) -> str:
    """Run ``git ARGS`` and return its stdout; raise :class:`GitError` on failure."""
    process = await asyncio.create_subprocess_exec(
        "git",
        *args,
        cwd=cwd,
        env=git_env(config=config),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout_s)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise GitError(f"git {args[0]} timed out after {timeout_s:.0f}s") from None
    if process.returncode != 0:
        tail = " ".join(err.decode(errors="replace").strip().splitlines()[-3:])
        raise GitError(f"git {args[0]} failed: {tail or f'exit {process.returncode}'}")
    return out.decode(errors="replace")
