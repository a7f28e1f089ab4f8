"""A private PostgreSQL cluster on a loopback port, for fault tests that restart the database.

`PostgresServer` runs `initdb` once into a temporary directory, then `pg_ctl start/stop` on it:
the machine's shared PostgreSQL (127.0.0.1:5432) is never touched. PostgreSQL refuses to run
as root, so when the tests run as root the binaries run as the `postgres` OS user (`runuser`),
with the directory handed to that user.

Nothing here imports Django.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

from tests.support.knot import free_port

INSTALL_HINT = "apt-get install -y postgresql (initdb and pg_ctl on PATH or in /usr/lib/postgresql)"
OS_USER = "postgres"


class PostgresError(RuntimeError):
    """The private cluster could not be created, started or stopped."""


def find_binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return candidates[0] if candidates else None


def run_as() -> list[str] | None:
    """The command prefix that runs PostgreSQL binaries as a non-root user; None if impossible."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(OS_USER)
    except KeyError:
        return None
    runuser = shutil.which("runuser")
    return [runuser, "-u", OS_USER, "--"] if runuser else None


def available() -> bool:
    return all(find_binary(b) for b in ("initdb", "pg_ctl", "postgres")) and run_as() is not None


class PostgresServer:
    """One PostgreSQL cluster on `127.0.0.1:<free port>`, all state in a temporary directory."""

    def __init__(self, *, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = free_port(host)
        self.user = "postgres"
        self._base: Path | None = None
        self._prefix = run_as()

    @property
    def data_dir(self) -> Path:
        assert self._base is not None, "start() first"
        return self._base / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgres://{self.user}@{self.host}:{self.port}/{database}"

    def connect(self, database: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(
            host=self.host, port=self.port, user=self.user, dbname=database, autocommit=True
        )

    def create_database(self, name: str) -> str:
        with self.connect() as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> PostgresServer:
        """initdb (first time only), then start and wait until it accepts connections."""
        if self._prefix is None:
            raise PostgresError(f"Cannot run PostgreSQL as root without a {OS_USER!r} OS user.")
        if self._base is None:
            # Not pytest's tmp_path: its parents are private to root, and the server runs as
            # the postgres user.
            self._base = Path(tempfile.mkdtemp(prefix="pg-test-"))
            if self._prefix:
                shutil.chown(self._base, user=OS_USER)
            self._run(
                "initdb", "-D", str(self.data_dir), "-U", self.user, "--auth=trust",
                "-E", "UTF8", "--no-sync",
            )  # fmt: skip
        options = (
            f"-p {self.port} -k {self._base} -c listen_addresses={self.host} "
            # A throw-away cluster: durability is not what these tests are about.
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            "pg_ctl", "-D", str(self.data_dir), "-l", str(self._base / "server.log"),
            "-o", options, "-w", "-t", "30", "start",
        )  # fmt: skip
        return self

    def stop(self) -> None:
        """Fast shutdown (open sessions are cut), waiting until the postmaster has exited."""
        if self._base is None or not (self.data_dir / "postmaster.pid").exists():
            return
        try:
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "-t", "30", "stop")
        except PostgresError:
            pid = self.postmaster_pid()
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        if self._base is not None:
            shutil.rmtree(self._base, ignore_errors=True)
            self._base = None

    def postmaster_pid(self) -> int | None:
        with contextlib.suppress(OSError, ValueError, IndexError):
            return int((self.data_dir / "postmaster.pid").read_text().split()[0])
        return None

    def accepts_connections(self) -> bool:
        try:
            with self.connect() as connection:
                connection.execute("SELECT 1")
        except psycopg.OperationalError:
            return False
        return True

    def log(self) -> str:
        path = (self._base or Path("/nonexistent")) / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _run(self, binary: str, *args: str) -> None:
        path = find_binary(binary)
        if path is None:
            raise PostgresError(f"{binary} is not installed; {INSTALL_HINT}")
        started = time.monotonic()
        result = subprocess.run(
            [*(self._prefix or []), path, *args],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=self._base,
            check=False,
        )
        if result.returncode != 0:
            raise PostgresError(
                f"{binary} failed after {time.monotonic() - started:.1f} s "
                f"(exit {result.returncode}):\n{result.stdout}\n{result.stderr}\n{self.log()[-2000:]}"
            )
