"""A throwaway PostgreSQL cluster for the test session, and one empty database per test.

The cluster lives in a fresh temporary directory: ``initdb`` with trust auth, then ``pg_ctl``
starts it listening on 127.0.0.1 on a free port only, with its unix socket in that directory.
Durability is switched off (``fsync``, ``full_page_writes``) because the data is thrown away.

A tricky part: PostgreSQL refuses to run as root. When the tests run as root (CI), the cluster
is owned by, and every PostgreSQL program runs as, the unprivileged account ``kubidu-pg``
(created with ``useradd`` if needed) through ``runuser``. The temporary directory is made under
``/tmp`` and handed to that account, since pytest's own tmp dirs are private to root.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg
from psycopg import sql

from tests.helpers.ports import free_port

PG_ACCOUNT = "kubidu-pg"
SUPERUSER = "postgres"
_SEARCH_DIRS = ("/usr/lib/postgresql/15/bin",)
_START_ATTEMPTS = 3
_PREFIX = "kubidu-pg-"
_OWNER_FILE = "owner.pid"  # pid of the test process that owns the cluster


class PostgresError(RuntimeError):
    """The test cluster could not be created, started or stopped."""


def find_bindir() -> Path | None:
    """Directory holding ``initdb``, ``pg_ctl`` and ``postgres``, or None if not installed.

    Looks at ``$KUBIDU_TEST_PG_BINDIR``, then ``PATH``, then Debian's
    ``/usr/lib/postgresql/15/bin`` and any other ``/usr/lib/postgresql/*/bin``.
    """
    candidates: list[Path] = []
    if env := os.environ.get("KUBIDU_TEST_PG_BINDIR"):
        candidates.append(Path(env))
    if found := shutil.which("pg_ctl"):
        candidates.append(Path(found).resolve().parent)
    candidates += [Path(d) for d in _SEARCH_DIRS]
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for bindir in candidates:
        if all((bindir / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return bindir
    return None


class PostgresCluster:
    """A running throwaway cluster; create with :meth:`start`, end with :meth:`stop`."""

    def __init__(self, *, bindir: Path, base: Path, run_as: str | None) -> None:
        self.bindir = bindir
        self.base = base
        self.datadir = base / "data"
        self.logfile = base / "postgres.log"
        self.run_as = run_as
        self.port = 0
        self.host = "127.0.0.1"

    # -- lifecycle -------------------------------------------------------------------------

    @classmethod
    def start(cls, *, bindir: Path) -> PostgresCluster:
        """Create a cluster in a new temporary directory and start it."""
        run_as = _ensure_account() if os.geteuid() == 0 else None
        _reap_orphans(bindir)
        base = Path(tempfile.mkdtemp(prefix=_PREFIX, dir="/tmp" if run_as else None))
        (base / _OWNER_FILE).write_text(str(os.getpid()))
        if run_as:
            shutil.chown(base, user=run_as, group=run_as)
        cluster = cls(bindir=bindir, base=base, run_as=run_as)
        try:
            cluster._initdb()
            cluster._start_on_free_port()
        except BaseException:
            cluster.stop()
            raise
        return cluster

    def stop(self) -> None:
        """Stop the server (if running) and delete its directory. Safe to call twice."""
        if (self.datadir / "postmaster.pid").exists():
            for mode in ("fast", "immediate"):
                stopped = self._run(
                    "pg_ctl",
                    "stop",
                    "-D",
                    str(self.datadir),
                    "-m",
                    mode,
                    "-w",
                    "-t",
                    "30",
                    check=False,
                )
                if stopped.returncode == 0:
                    break
        shutil.rmtree(self.base, ignore_errors=True)

    # -- databases -------------------------------------------------------------------------

    def url(self, dbname: str = "postgres") -> str:
        """SQLAlchemy URL of ``dbname`` on this cluster (psycopg 3 driver)."""
        return f"postgresql+psycopg://{SUPERUSER}@{self.host}:{self.port}/{dbname}"

    def conninfo(self, dbname: str = "postgres") -> str:
        """libpq connection string of ``dbname`` on this cluster."""
        return f"host={self.host} port={self.port} user={SUPERUSER} dbname={dbname}"

    def create_database(self) -> str:
        """Create a new, empty database with a random name and return the name."""
        name = f"t_{secrets.token_hex(6)}"
        self._admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return name

    def drop_database(self, name: str) -> None:
        """Drop ``name``, disconnecting any session a test left open."""
        self._admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def _admin(self, statement: sql.Composed) -> None:
        with psycopg.connect(self.conninfo(), autocommit=True, connect_timeout=10) as conn:
            conn.execute(statement)

    # -- internals -------------------------------------------------------------------------

    def _initdb(self) -> None:
        self._run(
            "initdb", "-D", str(self.datadir), "-U", SUPERUSER, "--auth=trust",
            "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions",
        )  # fmt: skip
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.base}'",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "200",
            "log_min_messages": "warning",
        }
        with (self.datadir / "postgresql.conf").open("a") as conf:
            conf.write("\n# kubidu test cluster\n")
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())

    def _start_on_free_port(self) -> None:
        for _attempt in range(_START_ATTEMPTS):
            self.port = free_port()
            # postgresql.auto.conf is read last, so it overrides the port for this attempt.
            auto_conf = self.datadir / "postgresql.auto.conf"
            auto_conf.write_text(f"port = {self.port}\n")
            if self.run_as:
                shutil.chown(auto_conf, user=self.run_as, group=self.run_as)
            started = self._run(
                "pg_ctl", "start", "-D", str(self.datadir), "-l", str(self.logfile),
                "-w", "-t", "60", check=False,
            )  # fmt: skip
            if started.returncode == 0:
                return
            if "already in use" not in self._log_tail():
                break
        raise PostgresError(f"pg_ctl start failed:\n{self._log_tail()}")

    def _log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.logfile.read_text(errors="replace").splitlines()[-lines:])
        return "(no server log)"

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        argv = [str(self.bindir / tool), *args]
        if self.run_as:
            argv = ["runuser", "-u", self.run_as, "--", *argv]
        result = subprocess.run(
            argv, cwd=self.base, capture_output=True, text=True, timeout=120, check=False
        )
        if check and result.returncode != 0:
            raise PostgresError(f"{tool} failed ({result.returncode}): {result.stderr.strip()}")
        return result


def _reap_orphans(bindir: Path) -> None:
    """Stop and delete clusters left behind by test sessions that were killed."""
    for tmp in {Path("/tmp"), Path(tempfile.gettempdir())}:
        for base in tmp.glob(f"{_PREFIX}*"):
            try:
                owner = int((base / _OWNER_FILE).read_text())
                os.kill(owner, 0)
                continue  # its session is still running
            except ProcessLookupError:
                pass
            except (OSError, ValueError):
                continue  # not ours, or not readable
            info = base.stat()
            if os.geteuid() != 0 and info.st_uid != os.geteuid():
                continue
            run_as = _account_name(info.st_uid) if info.st_uid != os.geteuid() else None
            PostgresCluster(bindir=bindir, base=base, run_as=run_as).stop()


def _account_name(uid: int) -> str | None:
    import pwd

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return None


def _ensure_account() -> str:
    """Create the unprivileged account PostgreSQL runs as when the tests run as root."""
    from kubidu.security.sysusers import ensure_system_user

    ensure_system_user(PG_ACCOUNT)
    return PG_ACCOUNT
