"""Small apps written into a directory for end-to-end tests (stdlib only: no install time)."""

from __future__ import annotations

import io
import shutil
import tarfile
import textwrap
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

_SERVER = """
import os, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VERSION = {version!r}
time.sleep({startup_delay})
{before_listen}

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"{{VERSION}} {{os.environ.get('GREETING', 'hello')}}\\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        print("request", self.path, flush=True)

print("listening on", os.environ["PORT"], flush=True)
ThreadingHTTPServer(("0.0.0.0", int(os.environ["PORT"])), Handler).serve_forever()
"""


def write_stdlib_app(
    root: Path,
    *,
    version: str,
    startup_delay: float = 0.0,
    before_listen: str = "",
    requirements: str = "",
) -> Path:
    """A Python app answering ``<version> <GREETING>`` on every path."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "app.py").write_text(
        _SERVER.format(
            version=version,
            startup_delay=startup_delay,
            before_listen=textwrap.dedent(before_listen),
        )
    )
    (root / "requirements.txt").write_text(requirements)
    (root / "Procfile").write_text("web: python app.py\n")
    return root


def copy_example(name: str, dest: Path) -> Path:
    shutil.copytree(EXAMPLES / name, dest)
    return dest


def tarball(members: dict[str, bytes], *, link: tuple[str, str] | None = None) -> bytes:
    """A gzipped upload of ``members`` (and one symlink ``(name, target)`` when given)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        if link:
            info = tarfile.TarInfo(link[0])
            info.type, info.linkname = tarfile.SYMTYPE, link[1]
            tar.addfile(info)
    return buffer.getvalue()
