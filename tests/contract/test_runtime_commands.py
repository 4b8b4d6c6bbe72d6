"""Conformance for runtimes that execute real commands (every runtime but the in-memory fake).

Checks:
* run_oneoff returns the exit code and combined output; it times out; it sees only its env;
* ``$PORT`` / ``${VAR}`` in argv are expanded from the app's env, without a shell;
* a missing release or program is a PermanentRuntimeError;
* a replica killed by SIGKILL reports ``last_exit_code == -9`` and is restarted;
* an app that ignores SIGTERM is killed once the grace period is over;
* replicas survive a ``kill -9`` of the control plane that started them.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from runtime_harness import COMMAND_RUNTIMES, Harness, eventually, get, running

from kubidu.runtimes.base import PermanentRuntimeError, Replica, WorkloadSpec

# The fake does not execute argv, so these tests run only where commands really run.
pytestmark = [
    pytest.mark.anyio,
    pytest.mark.parametrize("harness", COMMAND_RUNTIMES, indirect=True),
]


def _oneoff(harness: Harness, code: str, *, env: dict[str, str] | None = None) -> WorkloadSpec:
    return harness.spec("svc-job", "dep1", command=(harness.python(), "-c", code), env=env)


async def test_oneoff_exit_code_and_output(harness: Harness) -> None:
    code = "import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)"
    result = await harness.runtime.run_oneoff(_oneoff(harness, code))
    assert result.exit_code == 3
    assert "out" in result.output and "err" in result.output
    ok = await harness.runtime.run_oneoff(_oneoff(harness, "print('fine')"))
    assert (ok.exit_code, ok.output.strip()) == (0, "fine")


async def test_oneoff_sees_only_its_env(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBIDU_MASTER_KEY", "top-secret-key")
    code = "import os; print(os.environ.get('KUBIDU_MASTER_KEY'), os.environ['JOB'])"
    result = await harness.runtime.run_oneoff(_oneoff(harness, code, env={"JOB": "migrate"}))
    assert result.output.strip() == "None migrate"


async def test_oneoff_times_out(harness: Harness) -> None:
    started = time.monotonic()
    result = await harness.runtime.run_oneoff(
        _oneoff(harness, "import time; time.sleep(30)"), timeout_s=0.5
    )
    assert result.exit_code != 0
    assert "timed out" in result.output
    assert time.monotonic() - started < 10


async def test_argv_variables_are_expanded(harness: Harness) -> None:
    command = (harness.python(), "echo.py", "--port", "$PORT", "--tag", "${TAG}-x", "$UNSET")
    await harness.runtime.apply(harness.spec("svc-a", "dep1", command=command, env={"TAG": "t1"}))
    [replica] = await running(harness.runtime, "svc-a", "dep1", 1)
    assert replica.address is not None
    port = replica.address.rsplit(":", 1)[1]
    assert (await get(replica.address, "/argv")).text == f"--port {port} --tag t1-x "


async def test_missing_release_or_program_is_permanent(harness: Harness) -> None:
    spec = harness.spec("svc-a", "dep1")
    missing_release = WorkloadSpec(**{**spec.__dict__, "artifact": "/nonexistent/release"})
    with pytest.raises(PermanentRuntimeError):
        await harness.runtime.apply(missing_release)
    with pytest.raises(PermanentRuntimeError):
        await harness.runtime.apply(harness.spec("svc-a", "dep1", command=("no-such-program",)))
    assert await harness.runtime.observe("svc-a") == []


async def test_sigkilled_replica_reports_minus_nine(harness: Harness) -> None:
    await harness.runtime.apply(harness.spec("svc-a", "dep1"))
    [replica] = await running(harness.runtime, "svc-a", "dep1", 1)
    await harness.crash(replica.replica_id)

    def back(replicas: list[Replica]) -> bool:
        return replicas[0].restarts == 1 and replicas[0].state == "running"

    [after] = await eventually(lambda: harness.runtime.observe("svc-a"), back)
    assert after.last_exit_code == -signal.SIGKILL


async def test_stop_kills_an_app_that_ignores_sigterm(harness: Harness) -> None:
    code = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN);"
        " print('stubborn', flush=True); time.sleep(60)"
    )
    spec = harness.spec("svc-a", "dep1", command=(harness.python(), "-c", code), port=None)
    await harness.runtime.apply(spec)
    await running(harness.runtime, "svc-a", "dep1", 1)

    async def output() -> list[str]:
        return [line.line async for line in harness.runtime.logs("svc-a")]

    await eventually(output, lambda lines: "stubborn" in lines)  # SIGTERM is ignored by now
    started = time.monotonic()
    await harness.runtime.stop("svc-a", deployment_id="dep1", grace_s=0.5)
    assert 0.4 < time.monotonic() - started < 8
    assert await harness.runtime.observe("svc-a") == []


CONTROL_PLANE = """
import asyncio, json, sys
from pathlib import Path
sys.path[:0] = [sys.argv[1], sys.argv[2]]
from runtime_harness import build_runtime, labels
from kubidu.runtimes.base import WorkloadSpec

async def main():
    spec_data = json.loads(sys.argv[4])
    runtime = build_runtime(spec_data.pop("runtime"), Path(sys.argv[3]), spec_data.pop("instance"))
    spec = WorkloadSpec(service_key="svc-a", deployment_id="dep1", generation=1,
                        labels=labels("dep1"), replicas=2, **spec_data)
    await runtime.apply(spec)
    while len([r for r in await runtime.observe("svc-a") if r.state == "running"]) < 2:
        await asyncio.sleep(0.05)
    print(json.dumps([r.replica_id for r in await runtime.observe("svc-a")]), flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""


async def test_replicas_survive_kill_9_of_the_control_plane(
    harness: Harness, tmp_path: Path
) -> None:
    spec = harness.spec("svc-a", "dep1")
    given = {"artifact": spec.artifact, "command": spec.command, "env": dict(spec.env)}
    given |= {"runtime": harness.name, "instance": getattr(harness, "instance", "")}
    paths = [str(Path(__file__).parent), str(Path(__file__).parents[2])]
    control = subprocess.Popen(
        [sys.executable, "-c", CONTROL_PLANE, *paths, str(tmp_path), json.dumps(given)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert control.stdout is not None
        started = json.loads(await asyncio.to_thread(control.stdout.readline))
    finally:
        os.kill(control.pid, signal.SIGKILL)
        control.wait()
    harness.services.add("svc-a")
    adopted = await running(harness.restarted(), "svc-a", "dep1", 2)
    assert {r.replica_id for r in adopted} == set(started)
    for replica in adopted:
        assert "dep1" in (await get(replica.address)).text
