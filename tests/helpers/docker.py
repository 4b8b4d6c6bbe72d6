"""Docker Engine for the tests: start ``dockerd`` when none runs, build local base images.

Nothing can be pulled from a registry here, so the base images are made from this machine:
* ``kubidu-test/busybox`` — Debian's static busybox in an otherwise empty rootfs;
* ``kubidu-test/python`` — busybox plus the host's ``python3`` with its standard library and
  exactly the shared libraries it links (found with ``ldd``): a real CPython in a container,
  enough for stdlib apps and the generated Python Dockerfile.
* ``kubidu-test/node`` (:func:`node_image`, built only by the tests that need it) — busybox
  plus the host's ``node``, the libraries it links and the host's ``npm`` package: enough for
  the generated Node.js Dockerfile (``npm install`` of an app without dependencies).
They are imported with ``docker import`` once; their tags carry a hash of their inputs, so a
later session on the same machine reuses them. :class:`DockerDaemon` stops only a ``dockerd``
it started itself.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import docker
from docker.errors import DockerException, ImageNotFound

from tests.helpers.strict import missing_dependency

SOCKET = "unix:///var/run/docker.sock"
BUSYBOX = Path("/usr/bin/busybox")
HOST_PYTHON = Path("/usr/bin/python3")
RECIPE_VERSION = "2"  # bump when the rootfs recipes change, so stale images are not reused
APPLETS = ("sh", "cat", "echo", "ls", "sleep", "env", "mkdir", "rm", "cp", "wget", "true", "id")


def client() -> docker.APIClient:
    return docker.APIClient(base_url=SOCKET, version="auto", timeout=120)


def _pingable() -> bool:
    try:
        return bool(docker.APIClient(base_url=SOCKET, timeout=2).ping())
    except (DockerException, OSError):
        return False


@dataclass
class DockerDaemon:
    """A reachable Engine; ``process`` is set only when these tests started ``dockerd``."""

    process: subprocess.Popen[bytes] | None = None

    @classmethod
    def ensure(cls, log_dir: Path) -> DockerDaemon:
        if _pingable():
            return cls()
        dockerd = shutil.which("dockerd") or "/usr/sbin/dockerd"
        if not Path(dockerd).exists() or os.geteuid() != 0:
            missing_dependency("dockerd (Debian docker.io) not found or not root; run as root")
        log = (log_dir / "dockerd.log").open("ab")
        process = subprocess.Popen([dockerd], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while not _pingable():
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"dockerd did not start; see {log_dir / 'dockerd.log'}")
            time.sleep(0.2)
        return cls(process)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


@dataclass(frozen=True)
class BaseImages:
    busybox: str
    python: str


def base_images() -> BaseImages:
    """Tags of the local base images, built on first use (and kept on the Engine)."""
    if not BUSYBOX.is_file():
        missing_dependency("busybox-static (Debian) is needed to build local base images")
    api = client()
    busybox = _ensure(api, "kubidu-test/busybox", [BUSYBOX], _busybox_rootfs)
    python_files = _python_files()
    python = _ensure(api, "kubidu-test/python", [BUSYBOX, *python_files[:1]], _python_rootfs)
    return BaseImages(busybox=busybox, python=python)


def node_image() -> str:
    """The tag of the local Node.js base image, built on first use."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        missing_dependency("node and npm (Debian nodejs, npm) are needed for the node base image")
    return _ensure(client(), "kubidu-test/node", [BUSYBOX, Path(node).resolve()], _node_rootfs)


def _node_rootfs(root: Path) -> None:
    _busybox_rootfs(root)
    _merged_usr(root)
    node = Path(str(shutil.which("node"))).resolve()
    for path in [*_linked(node), node]:
        _copy(path, root)
    npm_cli = Path(str(shutil.which("npm"))).resolve()  # <npm package>/bin/npm-cli.js
    package = npm_cli.parents[1]
    # Debian's npm keeps its dependencies beside it (/usr/share/nodejs); the upstream one, inside.
    tree = package if (package / "node_modules").is_dir() else package.parent
    shutil.copytree(tree, root / tree.relative_to("/"), symlinks=True)
    usr_bin = root / "usr" / "bin"
    usr_bin.mkdir(parents=True, exist_ok=True)
    (usr_bin / "npm").symlink_to(npm_cli)
    if node.name != "node":
        (usr_bin / "node").symlink_to(node.name)
    (usr_bin / "env").symlink_to("/bin/busybox")  # npm's "#!/usr/bin/env node"


def _ensure(api: docker.APIClient, repo: str, inputs: list[Path], fill: object) -> str:
    digest = hashlib.sha256(RECIPE_VERSION.encode())
    for path in inputs:
        digest.update(str(path.resolve()).encode() + path.read_bytes())
    tag = f"{repo}:{digest.hexdigest()[:12]}"
    try:
        api.inspect_image(tag)
        return tag
    except ImageNotFound:
        pass
    with tempfile.TemporaryDirectory(prefix="kubidu-rootfs-") as tmp:
        root = Path(tmp)
        assert callable(fill)
        fill(root)
        _import(api, root, tag)
    return tag


def _busybox_rootfs(root: Path) -> None:
    (root / "bin").mkdir()
    shutil.copy2(BUSYBOX, root / "bin" / "busybox")
    for applet in APPLETS:
        (root / "bin" / applet).symlink_to("busybox")
    for name in ("tmp", "etc", "app"):
        (root / name).mkdir()
    (root / "tmp").chmod(0o1777)
    (root / "etc" / "passwd").write_text(
        "root:x:0:0::/root:/bin/sh\napp:x:10001:10001::/app:/bin/sh\n"
    )
    (root / "etc" / "group").write_text("root:x:0:\napp:x:10001:\n")


def _python_files() -> list[Path]:
    """The interpreter, its stdlib, and every shared library the two of them link."""
    python = HOST_PYTHON.resolve()
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    stdlib = Path("/usr/lib") / python.name
    if not stdlib.is_dir():
        stdlib = Path("/usr/lib") / version
    binaries = [python, *stdlib.glob("lib-dynload/*.so")]
    libraries = set()
    for binary in binaries:
        libraries |= _linked(binary)
    return [python, stdlib, *sorted(libraries)]


def _linked(binary: Path) -> set[Path]:
    out = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=False).stdout
    found = set()
    for line in out.splitlines():
        parts = line.split()
        for part in parts:
            if part.startswith("/"):
                found.add(Path(part))
    return found


def _python_rootfs(root: Path) -> None:
    _busybox_rootfs(root)
    _merged_usr(root)
    python, stdlib, *libraries = _python_files()
    for path in [*libraries, python]:
        _copy(path, root)
    shutil.copytree(
        stdlib,
        root / stdlib.relative_to("/"),
        symlinks=True,
        ignore=shutil.ignore_patterns("test", "__pycache__", "idlelib", "tkinter"),
    )
    usr_bin = root / "usr" / "bin"
    for name in ("python3", "python"):
        if not (usr_bin / name).exists():
            (usr_bin / name).symlink_to(python.name)


def _merged_usr(root: Path) -> None:
    """/lib and /lib64 link into /usr, as on Debian: one real copy per library."""
    for merged in ("lib", "lib64"):
        (root / "usr" / merged).mkdir(parents=True, exist_ok=True)
        (root / merged).symlink_to(f"usr/{merged}")


def _copy(path: Path, root: Path) -> None:
    target = root / path.relative_to("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        shutil.copy2(path, target)  # the content, also for a symlinked library


def _import(api: docker.APIClient, root: Path, tag: str) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(root, arcname=".")
    repository, _, version = tag.partition(":")
    api.import_image_from_data(
        buffer.getvalue(),
        repository=repository,
        tag=version,
        changes=[
            "ENV PATH=/usr/local/bin:/usr/bin:/bin",
            "ENV LANG=C.UTF-8",
            'CMD ["/bin/sh"]',
        ],
    )


def build_image(
    api: docker.APIClient, *, tag: str, dockerfile: str, files: dict[str, bytes]
) -> str:
    """Build a small image from a Dockerfile text and files (test apps); return its tag."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in {"Dockerfile": dockerfile.encode(), **files}.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    for chunk in api.build(
        fileobj=io.BytesIO(buffer.getvalue()), custom_context=True, tag=tag, rm=True, decode=True
    ):
        if "error" in chunk:
            raise RuntimeError(f"building {tag} failed: {chunk['error']}")
    return tag
