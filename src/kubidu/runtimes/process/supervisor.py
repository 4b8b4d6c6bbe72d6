"""The supervisor of one replica: ``python -m kubidu.runtimes.process.supervisor <plan.json>``.

Started by :class:`ProcessRuntime` in a new session; it forks once more and the first process
exits, so the supervisor is nobody's child and survives a ``kill -9`` of the control plane
(apps keep serving while the control plane is down). Stdlib only, so it stays small and does not
depend on the control plane's heavier imports.

It runs the app as a child in its own process group (as the team's system user when the plan
says so), captures its output into the replica's log, probes its port, restarts it with
exponential backoff when it exits, and publishes what it sees in the replica's state file. On
SIGTERM it stops the app (SIGTERM to the group, SIGKILL after the grace period the runtime wrote
into the stop file), removes its state and exits.

A tricky part: signal handlers only set a flag; every wait is a short sleep loop that checks it,
so a stop request is honoured within ~50 ms whatever the supervisor is doing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from kubidu.runtimes.process.applog import AppLog, start_pump
from kubidu.runtimes.process.files import process_create_time, read_json, write_json
from kubidu.runtimes.process.launch import LaunchError, app_argv, app_env
from kubidu.runtimes.process.plan import ReplicaPlan

TICK = 0.05
DEFAULT_GRACE = 10.0


class Supervisor:
    """Keeps one replica's app running until asked to stop."""

    def __init__(self, *, plan: ReplicaPlan) -> None:
        self.plan = plan
        self.log = AppLog(
            path=Path(plan.log_file), replica_id=plan.replica_id, deployment_id=plan.deployment_id
        )
        self.stopping = False
        self.child: subprocess.Popen[bytes] | None = None
        self.pumps: list[threading.Thread] = []
        self.failures = 0
        self.home = ""
        self.state: dict[str, Any] = _initial_state(plan)

    def run(self) -> None:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        try:
            self.home = self._make_home()
            self._publish(home=self.home)
            self._loop()
        except Exception as exc:  # log why, then still stop the app and clean up
            self.log.write("system", f"supervisor failed: {exc!r}")
        finally:
            self._shutdown()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True

    def _loop(self) -> None:
        while not self.stopping:
            ran_for = self._run_child()
            if not self.stopping:
                self._backoff(ran_for)

    def _make_home(self) -> str:
        home = tempfile.mkdtemp(prefix=f"kubidu-home-{self.plan.replica_id}-")
        if self.plan.uid is not None:
            os.chown(home, self.plan.uid, self.plan.gid if self.plan.gid is not None else -1)
        return home

    def _run_child(self) -> float:
        """Start the app and watch it; return how long it ran (0 when it did not start)."""
        oom_before = _oom_kills()
        try:
            child = self.child = self._spawn()
        except (OSError, LaunchError, subprocess.SubprocessError) as exc:
            self.log.write("system", f"failed to start: {exc}")
            self._publish(last_exit_code=127)
            return 0.0
        started = time.monotonic()
        self._announce_start(child)
        code = self._watch(child)
        if code is None:
            return 0.0  # stopping: _shutdown takes it from here
        self._reap(child)
        oom = code == -signal.SIGKILL and _oom_kills() > oom_before
        self._publish(last_exit_code=code, child_pid=None, oom=oom)
        return time.monotonic() - started

    def _spawn(self) -> subprocess.Popen[bytes]:
        plan = self.plan
        env = app_env(plan.env, port=plan.port, home=self.home)
        isolated = plan.uid is not None
        child = subprocess.Popen(
            app_argv(plan.command, env),
            cwd=plan.artifact,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            process_group=0,  # its own group, so stop reaches everything the app spawned
            user=plan.uid,
            group=plan.gid if isolated else None,
            extra_groups=[] if isolated else None,  # drop root's supplementary groups
        )
        self.pumps = [
            start_pump(child.stdout, log=self.log, stream="stdout"),
            start_pump(child.stderr, log=self.log, stream="stderr"),
        ]
        return child

    def _announce_start(self, child: subprocess.Popen[bytes]) -> None:
        state = "starting" if self.plan.port is not None else "running"
        self._publish(
            state=state,
            child_pid=child.pid,
            child_create_time=process_create_time(child.pid),
            started_at=datetime.now(UTC).isoformat(),
        )
        self.log.write("system", f"started pid {child.pid}")

    def _watch(self, child: subprocess.Popen[bytes]) -> int | None:
        """Wait for the app to exit (its code) or for a stop request (None); probe its port."""
        while not self.stopping:
            code = child.poll()
            if code is not None:
                return code
            if self.state["state"] == "starting" and self._listening():
                self._publish(state="running")
                self.log.write("system", f"listening on port {self.plan.port}")
            time.sleep(TICK)
        return None

    def _listening(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.plan.port or 0), timeout=0.2):
                return True
        except OSError:
            return False

    def _reap(self, child: subprocess.Popen[bytes]) -> None:
        """After the app exits, kill what it left in its group and drain its output."""
        _signal_group(child.pid, signal.SIGKILL)
        for pump in self.pumps:
            pump.join(timeout=1.0)

    def _backoff(self, ran_for: float) -> None:
        self.failures = 1 if ran_for >= self.plan.backoff.healthy_s else self.failures + 1
        delay = self.plan.backoff.delay(self.failures)
        code = self.state["last_exit_code"]
        self._publish(state="oom_killed" if self.state.get("oom") else "backoff")
        self.log.write("system", f"{_describe_exit(code)}; restarting in {delay:g}s")
        deadline = time.monotonic() + delay
        while not self.stopping and time.monotonic() < deadline:
            time.sleep(TICK)
        if not self.stopping:
            self._publish(restarts=self.state["restarts"] + 1)

    def _shutdown(self) -> None:
        child = self.child
        if child is not None and child.poll() is None:
            self._stop_child(child)
        if child is not None:
            self._reap(child)
        self.log.write("system", "stopped")
        for name in (self.plan.state_file, self.plan.spec_file, self.plan.stop_file):
            with contextlib.suppress(OSError):
                Path(name).unlink(missing_ok=True)
        if self.home:
            shutil.rmtree(self.home, ignore_errors=True)
        self.log.close()

    def _stop_child(self, child: subprocess.Popen[bytes]) -> None:
        grace = _grace(Path(self.plan.stop_file))
        self.log.write("system", f"stopping pid {child.pid} (grace {grace:g}s)")
        _signal_group(child.pid, signal.SIGTERM)
        try:
            child.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.log.write("system", "grace period over; killing")
            _signal_group(child.pid, signal.SIGKILL)
            child.wait()

    def _publish(self, **changes: Any) -> None:
        self.state.update(changes)
        write_json(Path(self.plan.state_file), self.state)


def _initial_state(plan: ReplicaPlan) -> dict[str, Any]:
    pid = os.getpid()
    return {
        "replica_id": plan.replica_id,
        "service_key": plan.service_key,
        "deployment_id": plan.deployment_id,
        "generation": plan.generation,
        "labels": plan.labels,
        "port": plan.port,
        "supervisor_pid": pid,
        "supervisor_create_time": process_create_time(pid),
        "child_pid": None,
        "child_create_time": None,
        "state": "starting",
        "restarts": 0,
        "started_at": None,
        "last_exit_code": None,
        "oom": False,
        "home": "",
    }


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def _grace(stop_file: Path) -> float:
    data = read_json(stop_file) or {}
    value = data.get("grace_s", DEFAULT_GRACE)
    return float(value) if isinstance(value, int | float) else DEFAULT_GRACE


def _describe_exit(code: int | None) -> str:
    if code is not None and code < 0:
        return f"killed by signal {-code}"
    return f"exited with code {code}"


def _oom_kills() -> int:
    """The kernel's count of OOM kills in our cgroup (v2 or v1 memory controller); -1: unknown."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return -1
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controllers == "":
            candidate = Path(f"/sys/fs/cgroup{path}/memory.events")
        elif "memory" in controllers.split(","):
            candidate = Path(f"/sys/fs/cgroup/memory{path}/memory.oom_control")
        else:
            continue
        with contextlib.suppress(OSError, ValueError):
            for entry in candidate.read_text().splitlines():
                if entry.startswith("oom_kill "):
                    return int(entry.split()[1])
    return -1


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    data = read_json(Path(args[0])) if args else None
    if data is None:
        return 2
    plan = ReplicaPlan.from_json(data)
    if os.fork() > 0:
        os._exit(0)  # the parent returns at once; the grandchild is reparented away from us
    Supervisor(plan=plan).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
