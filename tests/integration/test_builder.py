"""The builder end to end, with real pip (PyPI) and real npm.

Aspects checked:
* python: a cold build creates a venv, installs ``six`` with pip and streams pip's lines while
  pip is still running; the venv works from the release; a code change reuses the cached venv
  (cache_hit) and yields a new digest; an unchanged upload yields the same digest and release;
* releases are read-only and named by their digest;
* a nonexistent requirement fails with BuildFailed naming the step and pip's last lines, and
  leaves no cache entry, no release and no staging directory;
* node: ``npm install`` for a package.json without dependencies, node_modules in the release,
  a clean build env (no control-plane variables), cache reuse; a hanging install script is
  killed at the timeout;
* static sites: the release is the site, no install;
* nothing detectable: InvalidInput and nothing left behind;
* as root with ``run_as``: pip runs as the team account, release and venv are root:<team group>
  with 0750/0640 modes, and the team account can import from the venv.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import shutil
import stat
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from kubidu.builds.builder import Builder, BuildFailed, BuildResult
from kubidu.builds.tree import remove_tree
from kubidu.core.errors import InvalidInput
from kubidu.security.sysusers import ensure_system_user
from tests.helpers.strict import missing_dependency

OWNER = "team_ab12"
TEAM_ACCOUNT = "kubidu-test-build"


class Log:
    """Collects build-log lines; notes whether pip was alive when its first line arrived."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.pip_alive_at_first_line: bool | None = None

    async def __call__(self, line: str) -> None:
        if line.startswith("Collecting six") and self.pip_alive_at_first_line is None:
            self.pip_alive_at_first_line = _pip_running()
        self.lines.append(line)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def _pip_running() -> bool:
    for child in psutil.Process().children(recursive=True):
        try:
            if "pip" in child.cmdline():
                return True
        except psutil.NoSuchProcess:
            continue
    return False


@pytest.fixture
def base() -> Iterator[Path]:
    """A world-traversable base dir (pytest's tmp_path is 0700: team accounts can't enter)."""
    path = Path(tempfile.mkdtemp(prefix="kubidu-builds-"))
    path.chmod(0o755)
    yield path
    remove_tree(path)


def _builder(base: Path, **kwargs: object) -> Builder:
    return Builder(
        releases_dir=base / "releases",
        cache_dir=base / "cache",
        work_dir=base / "work",
        max_bytes=10 << 20,
        max_files=1000,
        **kwargs,  # type: ignore[arg-type]
    )


def _upload(base: Path, files: dict[str, str], name: str = "src.tgz") -> Path:
    path = base / name
    with tarfile.open(path, "w:gz") as tar:
        for member, text in sorted(files.items()):
            data = text.encode()
            info = tarfile.TarInfo(member)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    return path


def _build(builder: Builder, upload: Path, log: Log, run_as: str | None = None) -> BuildResult:
    return asyncio.run(builder.build(upload, owner=OWNER, run_as=run_as, log=log))


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def _leftovers(base: Path) -> list[str]:
    roots = [base / "releases" / OWNER, base / "cache" / OWNER]
    names = [p.name for root in roots if root.is_dir() for p in root.iterdir()]
    return [n for n in names if n.startswith(".") or n.startswith("python-") or len(n) == 64]


PY_APP = {"requirements.txt": "six\n", "app.py": "import six\nprint('six', six.__version__)\n"}


def test_python_cold_warm_and_unchanged_builds(base: Path) -> None:
    builder = _builder(base)
    cold_log = Log()
    cold = _build(builder, _upload(base, PY_APP), cold_log)
    assert cold.kind == "python" and not cold.cache_hit
    assert cold.command == ("python", "app.py")
    assert "Successfully installed six" in cold_log.text
    assert cold_log.pip_alive_at_first_line is True  # streamed live, not collected at the end
    assert cold.artifact == base / "releases" / OWNER / cold.digest
    assert _mode(cold.artifact) == 0o555 and _mode(cold.artifact / "app.py") == 0o444
    run = subprocess.run(
        ["python", "app.py"],
        cwd=cold.artifact,
        env=cold.env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert run.stdout.startswith("six 1.")

    warm_log = Log()
    changed = {**PY_APP, "app.py": PY_APP["app.py"] + "print('v2')\n"}
    warm = _build(builder, _upload(base, changed, "v2.tgz"), warm_log)
    assert warm.cache_hit and warm.digest != cold.digest
    assert warm.env == cold.env  # same cached venv
    assert "Reusing cached virtualenv" in warm_log.text
    assert not any(line.startswith("Collecting") for line in warm_log.lines)

    again = _build(builder, _upload(base, PY_APP, "v3.tgz"), Log())
    assert again.digest == cold.digest and again.artifact == cold.artifact


def test_failing_requirement(base: Path) -> None:
    files = {"requirements.txt": "kubidu-no-such-package-zz9==1.0\n", "app.py": ""}
    with pytest.raises(BuildFailed) as caught:
        _build(_builder(base), _upload(base, files), Log())
    reason = caught.value.reason
    assert reason.startswith("Installing requirements exited with status 1")
    assert "kubidu-no-such-package-zz9" in reason
    assert _leftovers(base) == []


NODE_APP = {
    "package.json": json.dumps(
        {
            "name": "hello",
            "version": "1.0.0",
            "scripts": {
                "start": "node server.js",
                "postinstall": "node -e \"console.log('ENVDUMP', JSON.stringify(process.env))\"",
            },
        }
    ),
    "server.js": "console.log('hello from node');\n",
}


def test_node_build_with_clean_env_and_cache(base: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBIDU_TEST_SECRET", "must-not-leak")
    builder = _builder(base)
    log = Log()
    first = _build(builder, _upload(base, NODE_APP), log)
    assert (first.kind, first.command, first.cache_hit) == ("node", ("npm", "start"), False)
    dump = next(line for line in log.lines if line.startswith("ENVDUMP "))
    build_env = json.loads(dump.removeprefix("ENVDUMP "))
    assert "KUBIDU_TEST_SECRET" not in build_env
    assert build_env["HOME"] == str(base / "work" / "home" / OWNER)
    assert (first.artifact / "node_modules").is_dir()
    assert first.env["PATH"].startswith(f"{first.artifact}/node_modules/.bin:")
    ran = subprocess.run(
        ["node", "server.js"],
        cwd=first.artifact,
        env=first.env,
        check=True,
        capture_output=True,
        text=True,
    )
    assert ran.stdout == "hello from node\n"

    second = _build(builder, _upload(base, {**NODE_APP, "extra.js": ""}, "v2.tgz"), Log())
    assert second.cache_hit and second.digest != first.digest


def test_hanging_install_is_killed_at_the_timeout(base: Path) -> None:
    package = {"name": "slow", "scripts": {"postinstall": 'node -e "setTimeout(()=>{}, 60000)"'}}
    files = {"package.json": json.dumps(package), "index.js": ""}
    # Session-wide services (a dockerd another fixture started) are children too: only
    # processes that appeared during the build must be gone.
    before = set(psutil.Process().children(recursive=True))
    with pytest.raises(BuildFailed, match="npm install timed out after 3 s"):
        _build(_builder(base, timeout=3.0), _upload(base, files), Log())
    after = set(psutil.Process().children(recursive=True)) - before
    assert not [p for p in after if p.is_running()]
    assert _leftovers(base) == []


def test_static_site(base: Path) -> None:
    files = {"index.html": "<h1>hi</h1>\n", "css/site.css": "h1{}\n"}
    result = _build(_builder(base), _upload(base, files), Log())
    assert (result.kind, result.command, result.env) == ("static", (), {})
    assert (result.artifact / "index.html").read_text() == "<h1>hi</h1>\n"
    assert sorted(p.name for p in result.artifact.iterdir()) == ["css", "index.html"]


def test_undetectable_upload(base: Path) -> None:
    with pytest.raises(InvalidInput, match="could not tell what kind of app"):
        _build(_builder(base), _upload(base, {"README.md": "hi"}), Log())
    assert _leftovers(base) == []


def test_run_as_team_account(base: Path) -> None:
    if os.geteuid() != 0:
        missing_dependency("run_as isolation needs root (to create and switch to accounts)")
    python = shutil.which("python3", path="/usr/bin")
    if python is None:
        missing_dependency("a world-readable /usr/bin/python3 with venv support")
    uid, gid = ensure_system_user(TEAM_ACCOUNT)
    files = {**PY_APP, "bin/start": "#!/bin/sh\n"}
    upload = _upload(base, files)
    (base / "work").mkdir(mode=0o755)
    result = _build(_builder(base, python=python), upload, Log(), run_as=TEAM_ACCOUNT)
    venv = Path(result.env["VIRTUAL_ENV"])
    for path in (result.artifact, result.artifact / "app.py", venv, venv / "pyvenv.cfg"):
        st = path.lstat()
        assert (st.st_uid, st.st_gid) == (0, gid), path
    assert _mode(result.artifact) == 0o750 and _mode(result.artifact / "app.py") == 0o640
    assert _mode(venv) == 0o750 and _mode(venv / "pyvenv.cfg") == 0o640
    assert _mode(base / "releases" / OWNER) == 0o750
    ran = subprocess.run(
        ["python", "app.py"],
        cwd=result.artifact,
        env=result.env,
        user=uid,
        group=gid,
        extra_groups=[],
        capture_output=True,
        text=True,
        check=True,
    )
    assert ran.stdout.startswith("six 1.")


def test_run_as_runs_install_steps_as_the_team_account(base: Path) -> None:
    if os.geteuid() != 0:
        missing_dependency("run_as isolation needs root (to create and switch to accounts)")
    uid, gid = ensure_system_user(TEAM_ACCOUNT)
    script = "node -e \"console.log('BUILD-UID', process.getuid(), process.getgroups())\""
    package = {"name": "x", "scripts": {"start": "node index.js", "postinstall": script}}
    upload = _upload(base, {"package.json": json.dumps(package), "index.js": ""})
    (base / "work").mkdir(mode=0o755)
    log = Log()
    result = _build(_builder(base), upload, log, run_as=TEAM_ACCOUNT)
    assert f"BUILD-UID {uid} [ {gid} ]" in log.lines
    modules = result.artifact / "node_modules"
    assert (modules.stat().st_uid, modules.stat().st_gid, _mode(modules)) == (0, gid, 0o750)
