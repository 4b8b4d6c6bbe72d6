"""`kubidu deploy --watch` (``cli/commands/watch.py``) with real inotify events.

Aspects checked: one deploy at start; a burst of saves gives one redeploy (debounced), not one
per file; changes under .git are ignored; a failing deploy is reported and watching goes on;
`--watch` refuses `--image` and `--detach`.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from typer.testing import CliRunner

from kubidu.cli.commands.watch import watch_and_deploy
from kubidu.cli.errors import CliError
from kubidu.cli.main import app
from tests.helpers.wait import wait_for


def test_bursts_are_debounced_and_failures_survive(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    calls: list[float] = []
    stop = threading.Event()

    def deploy_once() -> None:
        calls.append(time.monotonic())
        if len(calls) == 2:
            raise CliError("deployment dep_x failed: boom")

    thread = threading.Thread(
        target=watch_and_deploy,
        args=(deploy_once, tmp_path),
        kwargs={"debounce_ms": 300, "stop": stop},
    )
    thread.start()
    try:
        wait_for(lambda: len(calls) == 1, 5)
        time.sleep(0.5)  # let the watcher start
        (tmp_path / ".git" / "index").write_text("ignored")
        time.sleep(1.0)
        assert len(calls) == 1, "a change under .git must not redeploy"
        for i in range(5):
            (tmp_path / f"file{i}.py").write_text(str(i))
            time.sleep(0.02)
        wait_for(lambda: len(calls) == 2, 10)
        time.sleep(1.0)
        assert len(calls) == 2, "one burst of saves gives one redeploy"
        (tmp_path / "app.py").write_text("changed")
        wait_for(lambda: len(calls) == 3, 10)  # still watching after the failed deploy
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()


def test_watch_refuses_image_and_detach(tmp_path: Path) -> None:
    runner = CliRunner()
    for extra in (["--image", "busybox"], ["--detach"]):
        result = runner.invoke(
            app, ["--url", "http://127.0.0.1:9", "--token", "t", "deploy", "--watch", *extra]
        )
        assert result.exit_code == 1
        assert "--watch cannot be combined" in result.output
