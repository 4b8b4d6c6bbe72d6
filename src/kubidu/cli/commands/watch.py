"""`kubidu deploy --watch`: deploy, then redeploy whenever the directory changes (debounced).

Called by `kubidu.cli.commands.deploy`. Changes are collected by watchfiles (inotify) and
grouped: a burst of saves within the debounce window gives one redeploy, and changes made while
a deploy runs are picked up by the next one. Directories no app ships (.git, node_modules,
virtualenvs, caches) are ignored. A failed deploy is reported and watching goes on; Ctrl-C ends.
"""

import threading
from collections.abc import Callable
from pathlib import Path

import watchfiles

from kubidu.cli import output
from kubidu.cli.errors import CliError

DEBOUNCE_MS = 800


def watch_and_deploy(
    deploy_once: Callable[[], None],
    root: Path,
    *,
    debounce_ms: int = DEBOUNCE_MS,
    stop: threading.Event | None = None,
) -> int:
    """Deploy now and after every debounced batch of changes; returns how many deploys ran."""
    runs = _attempt(deploy_once)
    output.info(f"Watching {root} for changes (Ctrl-C to stop)")
    for changes in watchfiles.watch(
        root,
        watch_filter=watchfiles.DefaultFilter(),
        debounce=debounce_ms,
        stop_event=stop,
        raise_interrupt=False,
    ):
        output.info(f"{len(changes)} change(s) under {root}: redeploying")
        runs += _attempt(deploy_once)
    return runs


def _attempt(deploy_once: Callable[[], None]) -> int:
    try:
        deploy_once()
    except CliError as exc:
        output.error(f"{exc.message} (still watching)")
    return 1
