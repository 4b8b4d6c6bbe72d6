"""The pre-receive hook of every service repository (run by git, as ``python -m``).

Stdlib only, as it runs inside ``git receive-pack``. For each pushed branch it archives the new
commit (the objects are still in git's quarantine, which this process's environment points at),
sends the list to the control plane over the Unix socket named in ``KUBIDU_PUSH_SOCKET``, and
prints what the control plane answers: the build log, then the URL or the failure. Git sends
this output to the pusher over sideband ("remote: ..."). The exit code decides whether git
accepts the push: a branch whose deploy failed does not move.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

_SHA = re.compile(r"[0-9a-f]{40}")


def _archive(sha: str, out_dir: str) -> str:
    path = str(Path(out_dir) / f"{sha}.tar.gz")
    if not Path(path).exists():
        subprocess.run(["git", "archive", "--format=tar.gz", f"--output={path}", sha], check=True)
    return path


def _updates(lines: list[str], out_dir: str) -> list[dict[str, str]]:
    updates = []
    for line in lines:
        old, new, ref = line.split(" ", 2)
        item = {"old": old, "new": new, "ref": ref}
        if _SHA.fullmatch(new) and new != "0" * 40 and ref.startswith("refs/heads/"):
            item["archive"] = _archive(new, out_dir)
        updates.append(item)
    return updates


def main() -> int:
    lines = [ln.strip() for ln in sys.stdin if ln.strip()]
    updates = _updates(lines, os.environ["KUBIDU_PUSH_DIR"])
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.connect(os.environ["KUBIDU_PUSH_SOCKET"])
        conn.sendall(json.dumps({"updates": updates}).encode() + b"\n")
        for raw in conn.makefile("rb"):
            message = json.loads(raw)
            if "exit" in message:
                return int(message["exit"])
            sys.stdout.write(message["line"] + "\n")
            sys.stdout.flush()
    sys.stdout.write("kubidu: the control plane closed the connection\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
