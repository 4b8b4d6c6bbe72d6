"""What image to build from an upload: the app's own ``Dockerfile``, or one generated for it.

Called by :class:`~kubidu.builds.docker_image.DockerImageBuilder`. Python and Node.js apps
without a Dockerfile get one generated from a configurable base image (official ``python`` and
``node`` images by default), laid out so the dependency layer is cached across deploys that only
change app code: the manifest is copied and installed before the rest of the source. Apps run as
an unprivileged user (uid 10001). Static sites return ``None``: the edge serves them itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kubidu.builds.detect import detect
from kubidu.builds.procfile import read_declared

APP_USER = "10001:10001"
GENERATED_IGNORE = "node_modules\n.git\n"


@dataclass(frozen=True)
class ImagePlan:
    kind: str  # "docker" (the app's own Dockerfile) | "python" | "node"
    command: tuple[str, ...]  # empty: the image's own CMD/ENTRYPOINT
    dockerfile: str | None  # generated text; None when the app brings its Dockerfile
    release_command: tuple[str, ...] = ()
    health_path: str | None = None


@dataclass(frozen=True)
class BaseImages:
    python: str
    node: str


def plan_image(src: Path, *, bases: BaseImages) -> ImagePlan | None:
    """The image plan for the unpacked upload ``src``; ``None`` for a static site."""
    if (src / "Dockerfile").is_file():
        declared = read_declared(src)
        return ImagePlan("docker", declared.start, None, declared.release, declared.health_path)
    plan = detect(src)
    if plan.kind == "static":
        return None
    text = python_dockerfile(src, bases.python) if plan.kind == "python" else None
    text = text or node_dockerfile(src, bases.node)
    return ImagePlan(plan.kind, plan.command, text, plan.release_command, plan.health_path)


def python_dockerfile(src: Path, base: str) -> str:
    lines = [
        f"FROM {base}",
        "WORKDIR /app",
        "ENV PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1",
    ]
    if _has_requirements(src / "requirements.txt"):
        lines += [
            "COPY requirements.txt /app/requirements.txt",
            "RUN python3 -m pip install -r /app/requirements.txt",
            "COPY . /app",
        ]
    elif (src / "pyproject.toml").is_file():
        lines += ["COPY . /app", "RUN python3 -m pip install /app"]
    else:
        lines += ["COPY . /app"]
    return "\n".join([*lines, f"USER {APP_USER}", ""])


def node_dockerfile(src: Path, base: str) -> str:
    locked = (src / "package-lock.json").is_file()
    manifests = "package.json package-lock.json" if locked else "package.json"
    # No audit or funding calls: a build should not depend on the registry beyond the packages.
    install = "npm ci" if locked else "npm install"
    install += " --omit=dev --no-audit --no-fund"
    lines = [
        f"FROM {base}",
        "WORKDIR /app",
        "ENV NODE_ENV=production",
        f"COPY {manifests} /app/",
        f"RUN {install}",
        "COPY . /app",
        f"USER {APP_USER}",
        "",
    ]
    return "\n".join(lines)


def _has_requirements(path: Path) -> bool:
    """A requirements file with at least one requirement (not only blanks and comments)."""
    if not path.is_file():
        return False
    lines = path.read_text("utf-8", errors="replace").splitlines()
    return any(line.strip() and not line.strip().startswith("#") for line in lines)
