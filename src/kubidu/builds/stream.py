"""Running one build step (pip, npm, venv) with its output streamed to the build log live.

Called by the dependency installers. Each step runs as its own process group with a clean,
explicit environment, optionally as an unprivileged team account, and is killed as a whole on
timeout or cancellation (npm in particular leaves children behind otherwise).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from kubidu.core.errors import KubiduError

LogFn = Callable[[str], Awaitable[None]]
_TAIL_LINES = 15
_LINE_LIMIT = 1 << 20  # pip can print very long lines (hash mismatches, long URLs)


class BuildFailed(KubiduError):
    """A build step failed; the message names the step and ends with its last output lines."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class StepRunner:
    """Runs build commands for one build: same env, same account, same log, same timeout."""

    env: Mapping[str, str]
    log: LogFn
    timeout: float
    user: tuple[int, int] | None = None  # (uid, gid) to run as; None = as ourselves

    async def run(self, step: str, argv: Sequence[str], *, cwd: Path) -> None:
        """Run ``argv`` in ``cwd``; stream each output line to the log; raise BuildFailed."""
        await self.log(f"==> {step}")
        tail: deque[str] = deque(maxlen=_TAIL_LINES)
        proc = await self._spawn(argv, cwd)
        try:
            async with asyncio.timeout(self.timeout):
                await self._pump(proc, tail)
                code = await proc.wait()
        except TimeoutError:
            raise BuildFailed(
                _reason(step, f"timed out after {self.timeout:.0f} s", tail)
            ) from None
        finally:
            await _kill_group(proc)
        if code != 0:
            raise BuildFailed(_reason(step, f"exited with status {code}", tail))

    async def _spawn(self, argv: Sequence[str], cwd: Path) -> asyncio.subprocess.Process:
        ids: dict[str, object] = {}
        if self.user is not None:
            ids = {"user": self.user[0], "group": self.user[1], "extra_groups": []}
        try:
            return await asyncio.create_subprocess_exec(
                *argv,
                cwd=cwd,
                env=dict(self.env),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,  # own process group, so a kill reaches grandchildren
                **ids,  # type: ignore[arg-type]
            )
        except OSError as exc:
            raise BuildFailed(f"cannot start {argv[0]!r}: {exc}") from exc

    async def _pump(self, proc: asyncio.subprocess.Process, tail: deque[str]) -> None:
        assert proc.stdout is not None
        pending = b""
        while chunk := await proc.stdout.read(1 << 16):
            *lines, pending = (pending + chunk).split(b"\n")
            if len(pending) > _LINE_LIMIT:  # a runaway line is cut, not buffered forever
                lines, pending = [*lines, pending], b""
            for raw in lines:
                await self._emit(raw, tail)
        if pending:
            await self._emit(pending, tail)

    async def _emit(self, raw: bytes, tail: deque[str]) -> None:
        line = raw.decode("utf-8", errors="replace").rstrip("\r")
        tail.append(line)
        await self.log(line)


async def _kill_group(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()
    else:  # the leader exited; stray children of the group must not outlive the build
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)


def _reason(step: str, what: str, tail: deque[str]) -> str:
    lines = "\n".join(tail) if tail else "(no output)"
    return f"{step} {what}; last output:\n{lines}"
