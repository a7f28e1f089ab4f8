"""What the gunicorn benchmarks share: a throwaway PostgreSQL database with the demo account
and an access key, and a gunicorn on a free loopback port whose access log records each
request's server time (`%(D)s`, microseconds)."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the benches set Django up first; this module imports none of it at load
    from django.test import Client

    from accounts.models import Account

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
MANAGE = [PYTHON, str(ROOT / "manage.py")]
PG = "postgres://postgres@127.0.0.1:5432/"
ACCESS_LOG_FORMAT = "%(m)s %(U)s %(s)s %(D)s"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare_database(
    database: str, env: dict[str, str], *, account: str, key_id: str, secret: str
) -> None:
    """Drop and create `database`, migrate it, add the demo account and an access key."""
    psql = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-q", "-c"]
    subprocess.run([*psql, f"DROP DATABASE IF EXISTS {database}"], check=True)
    subprocess.run([*psql, f"CREATE DATABASE {database}"], check=True)
    subprocess.run([*MANAGE, "migrate", "-v", "0"], env=env, check=True)
    subprocess.run([*MANAGE, "demo_setup"], env=env, check=True, capture_output=True)
    subprocess.run(
        [*MANAGE, "create_access_key", "--account", account, "--access-key-id", key_id,
         "--secret", secret],
        env=env, check=True, capture_output=True,
    )  # fmt: skip


def vacuum_analyze(database: str) -> None:
    """Bring a freshly bulk-loaded database to the state autovacuum keeps a live one in.

    Right after 10,000 bulk inserts PostgreSQL has no statistics and no visibility map for
    them: until autovacuum gets there (a minute or more later) an index-only COUNT(*) still
    reads every heap row (4 ms instead of 0.7 ms). pgbench vacuums before it measures too.
    """
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-q", "-d", database, "-c", "VACUUM ANALYZE"],
        check=True,
    )


def setup_django_and_migrate() -> None:
    """Django set up in this process (settings from the environment the bench set) and its
    scratch database migrated."""
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def console_client(account: Account) -> Client:
    """A Django test client signed in as the bench's console user, a member of `account`."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    from accounts.models import Membership

    user, _ = get_user_model().objects.get_or_create(username="bench")
    Membership.objects.get_or_create(user=user, defaults={"account": account})
    client = Client()
    client.force_login(user)
    return client


def vacuum_analyze_in_process() -> None:
    """`vacuum_analyze` for a bench that runs Django itself, on its own connection (SQLite needs
    nothing)."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")


def start_gunicorn(
    env: dict[str, str],
    port: int,
    access_log: Path,
    *,
    app: str = "sesconsole.wsgi",
    workers: int | None = None,
    threads: int | None = None,
) -> subprocess.Popen[bytes]:
    """Start gunicorn on 127.0.0.1:`port` with the deployment's gunicorn.conf.py (workers and
    threads as given, else as that file says) and wait until it accepts. `app` may also be
    `bench.hello_wsgi`, the bare WSGI app."""
    tuning = [
        *(["--workers", str(workers)] if workers else []),
        *(["--threads", str(threads)] if threads else []),
    ]
    process = subprocess.Popen(
        [GUNICORN, app, "--config", str(ROOT / "gunicorn.conf.py"),
         "-b", f"127.0.0.1:{port}", *tuning,
         "--access-logfile", str(access_log), "--access-logformat", ACCESS_LOG_FORMAT],
        cwd=ROOT, env=env,
    )  # fmt: skip
    wait_for_port(port, process, "gunicorn")
    return process


def descendants(pid: int) -> list[int]:
    """The processes `pid` started (their children too), from /proc (Linux)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [found for child in map(int, children) for found in (child, *descendants(child))]


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds these processes have used so far (from /proc/<pid>/stat)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def start_moto(port: int) -> subprocess.Popen[bytes]:
    """Start moto's server (every AWS service on one port) on 127.0.0.1:`port`: what users
    run instead of sesconsole, measured in the same run."""
    process = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port, process, "moto_server")
    return process


def wait_for_port(port: int, process: subprocess.Popen[bytes], name: str) -> None:
    """Wait (30 s at most) until something accepts on 127.0.0.1:`port`; else stop `process`."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    process.terminate()
    raise RuntimeError(f"{name} did not start within 30 seconds")


def scratch_database(use_sqlite: bool, workdir: Path) -> tuple[str, str | None]:
    """A new, empty database for a bench that runs Django itself: (DATABASE_URL, the PostgreSQL
    name to drop at the end, or None for a SQLite file in `workdir`)."""
    if use_sqlite:
        return f"sqlite:///{workdir / 'bench.sqlite3'}", None
    import psycopg

    name = f"sesconsole_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG + "postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return PG + name, name


def drop_scratch_database(name: str | None) -> None:
    if name is None:
        return
    import psycopg

    with psycopg.connect(PG + "postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
