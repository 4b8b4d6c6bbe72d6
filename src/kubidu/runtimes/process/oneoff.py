"""One-off runs (release commands, cron runs): run a command once, collect its exit code and output.

Used by :meth:`ProcessRuntime.run_oneoff`. Same environment and user rules as replicas: the
app's env only (plus ``PORT``, ``HOME``...), its own process group, the team's system user under
isolation. Output is stdout and stderr combined, capped to the last ``MAX_OUTPUT`` bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import tempfile

from kubidu.runtimes.base import OneOffResult, WorkloadSpec
from kubidu.runtimes.process.launch import app_argv, app_env
from kubidu.runtimes.process.replicas import free_port

MAX_OUTPUT = 1024 * 1024
TIMEOUT_EXIT_CODE = -signal.SIGKILL


async def run_oneoff(
    spec: WorkloadSpec, *, uid: int | None, gid: int | None, timeout_s: float
) -> OneOffResult:
    home = tempfile.mkdtemp(prefix="kubidu-home-oneoff-")
    try:
        if uid is not None:
            os.chown(home, uid, gid if gid is not None else -1)
        return await _run(spec, uid=uid, gid=gid, home=home, timeout_s=timeout_s)
    finally:
        shutil.rmtree(home, ignore_errors=True)


async def _run(
    spec: WorkloadSpec, *, uid: int | None, gid: int | None, home: str, timeout_s: float
) -> OneOffResult:
    port = free_port(set()) if spec.port is not None else None
    env = app_env(spec.env, port=port, home=home)
    isolated = uid is not None
    proc = await asyncio.create_subprocess_exec(
        *app_argv(spec.command, env),
        cwd=spec.artifact,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        process_group=0,
        user=uid,
        group=gid if isolated else None,
        extra_groups=[] if isolated else None,
    )
    reader = asyncio.create_task(_collect(proc.stdout))
    code, note = await _wait(proc, timeout_s)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # nothing of a one-off outlives it
    output = await asyncio.wait_for(reader, timeout=5.0)
    return OneOffResult(exit_code=code, output=output.decode("utf-8", "replace") + note)


async def _wait(proc: asyncio.subprocess.Process, timeout_s: float) -> tuple[int, str]:
    try:
        return await asyncio.wait_for(proc.wait(), timeout=timeout_s), ""
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()
        return TIMEOUT_EXIT_CODE, f"\n[kubidu] timed out after {timeout_s:g}s; killed\n"


async def _collect(stream: asyncio.StreamReader | None) -> bytes:
    buffer = bytearray()
    while stream is not None and (chunk := await stream.read(65536)):
        buffer += chunk
        del buffer[:-MAX_OUTPUT]  # keep the tail: the error is usually at the end
    return bytes(buffer)
