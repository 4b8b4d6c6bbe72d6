"""Commits into source tarballs: the same gzip tarball the upload path takes.

``fetch_archive`` clones one commit of a remote repository (a GitHub clone URL) shallowly into
a scratch directory and archives it; the token is sent as an HTTP header through git's
environment-borne config. ``archive_commit`` archives a commit of a local repository (used by
the pre-receive hook inside the push's quarantine).
"""

from __future__ import annotations

import base64
import shutil
import tempfile
from pathlib import Path

from kubidu.git.run import run_git


async def archive_commit(repo: Path, sha: str, dest: Path) -> Path:
    """Write ``sha``'s tree as a gzip tarball to ``dest`` (``sha`` must be validated)."""
    await run_git("archive", "--format=tar.gz", f"--output={dest}", sha, cwd=repo)
    return dest


def auth_header(token: str | None) -> dict[str, str]:
    """git config that sends the token the way GitHub expects for HTTPS clones."""
    if not token:
        return {}
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return {"http.extraHeader": f"Authorization: Basic {basic}"}


async def fetch_archive(
    clone_url: str, sha: str, dest: Path, *, token: str | None, scratch: Path
) -> Path:
    """Fetch commit ``sha`` of ``clone_url`` (depth 1) and archive it to ``dest``."""
    work = Path(tempfile.mkdtemp(dir=scratch, prefix="fetch-"))
    try:
        await run_git("init", "--quiet", "--bare", "--", str(work))
        await run_git(
            "fetch",
            "--quiet",
            "--depth=1",
            "--no-tags",
            "--",
            clone_url,
            sha,
            cwd=work,
            config=auth_header(token),
        )
        return await archive_commit(work, sha, dest)
    finally:
        shutil.rmtree(work, ignore_errors=True)
