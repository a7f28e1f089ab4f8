"""Benchmark: 1,000 messages over one SMTP connection with Django's SMTP backend, through
sesconsole's SMTP server (accepted and stored; delivery by the workers excluded) and through a
bare aiosmtpd sink, in the same run.

    .venv/bin/python bench/smtp.py [--count 1000] [--redis-db 15] [--sqlite] [--read-ahead S]

1. creates a scratch PostgreSQL database (SQLite with --sqlite), migrates it, and adds an
   account with production access and an unlimited quota in us-east-1, a verified domain
   bench.example and an access key with its SMTP password;
2. starts `manage.py smtp_server`, `python -m aiosmtpd` (a Sink handler) and the floor
   (`bench/smtp_floor.py`: aiosmtpd storing each message with one durable INSERT, nothing
   else) as subprocesses on loopback ports, stopped by their PIDs at the end. Both are spoken to in plain text (the
   server with SMTP_ALLOW_PLAINTEXT_AUTH_ON_LOOPBACK), so TLS is not part of the comparison;
   sesconsole's server queues each accepted message on Redis db REDIS_DB, which is emptied at
   the end (no worker runs: delivery is not measured);
3. sends COUNT messages over one connection to the sink, the floor, then sesconsole, and
   prints messages/s for each, the ratios to the sink (target: at least 50 %; the floor's
   says what a durable commit per message leaves of the target on this machine), and the
   number of messages stored;
   then the CPU time per message (Linux /proc, PostgreSQL on this machine) of the sink, of
   sesconsole's event loop, of its other threads (database work and the broker publisher),
   of its PostgreSQL backends, and of this client: what each message costs where, a
   steadier measure than messages/s on a shared machine;
4. for the ceiling, calls smtp.submission.submit (what DATA runs: the send operation) COUNT
   times in this process, with the same message, and prints its messages/s.

`--read-ahead 0` makes the server read the account's settings, identities and key for every
message, as before sessions kept their reads (sending/read_ahead.py): the same tree with and
without it.

One connection means one message at a time: each DATA waits for `sending.operations.send`
to store the message and queue its delivery, so that call's latency bounds the result.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench.stack import (  # noqa: E402
    MANAGE,
    PYTHON,
    drop_scratch_database,
    free_port,
    scratch_database,
    setup_django_and_migrate,
)

REGION = "us-east-1"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--redis-db", type=int, default=15, help="Redis database (broker)")
    parser.add_argument("--sqlite", action="store_true", help="use a SQLite file, not PostgreSQL")
    parser.add_argument(
        "--read-ahead",
        type=float,
        default=None,
        metavar="SECONDS",
        help="SMTP_SESSION_READ_AHEAD_SECONDS for the server and the ceiling (0: read for "
        "every message); the setting's default when not given",
    )
    return parser.parse_args()


def setup_data() -> tuple[str, str]:
    """The account, identity and key; the SMTP user name and password."""
    from accounts.models import AccessKey, Account, AccountRegion, Region
    from identities.models import Identity, IdentityType, VerificationStatus
    from smtp.credentials import smtp_password

    account, _ = Account.objects.get_or_create(id="123456789012", defaults={"name": "Bench"})
    region = Region.objects.get(code=REGION)
    AccountRegion.objects.update_or_create(
        account=account,
        region=region,
        defaults={"production_access_enabled": True, "max_send_rate": -1, "max_24_hour_send": -1},
    )
    Identity.objects.create(
        account=account,
        region=region,
        identity_type=IdentityType.DOMAIN,
        name="bench.example",
        verification_status=VerificationStatus.SUCCESS,
    )
    key, secret = AccessKey.issue(account, description="bench/smtp.py")
    return key.access_key_id, smtp_password(secret, REGION)


def wait_for_banner(port: int, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{what} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                if sock.recv(64).startswith(b"220"):
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{what} did not answer on port {port} in 60 s")


def messages(count: int) -> list:  # type: ignore[type-arg]
    from django.core.mail import EmailMessage

    return [
        EmailMessage(
            subject=f"Bench message {n}",
            body="A short transactional message, as an application sends them.\n" * 5,
            from_email="Bench <app@bench.example>",
            to=[f"user{n}@customer.example"],
        )
        for n in range(count)
    ]


def send_all(port: int, count: int, username: str = "", password: str = "") -> float:
    """Messages/s for COUNT messages over one connection of Django's SMTP backend."""
    from django.core.mail import get_connection

    batch = messages(count)
    connection = get_connection(
        "django.core.mail.backends.smtp.EmailBackend",
        host="127.0.0.1",
        port=port,
        username=username,
        password=password,
        use_tls=False,
        fail_silently=False,
        timeout=30,
    )
    started = time.perf_counter()
    with connection:
        sent = connection.send_messages(batch)
    elapsed = time.perf_counter() - started
    if sent != count:
        raise SystemExit(f"only {sent} of {count} messages were accepted")
    return count / elapsed


def submit_directly(count: int, username: str, password: str) -> float:
    """Messages/s of the send operation alone, as DATA calls it, without SMTP around it."""
    from smtp.credentials import authenticate
    from smtp.submission import submit

    login = authenticate(username, password, "127.0.0.1")
    content = messages(1)[0].message().as_bytes()
    started = time.perf_counter()
    for _ in range(count):
        reply = submit(login, "app@bench.example", ["user@customer.example"], content)
        if not reply.startswith("250 "):
            raise SystemExit(f"the send operation refused the message: {reply}")
    return count / (time.perf_counter() - started)


def cpu_seconds(pid: int, thread: int | None = None) -> float:
    """CPU time (user + system) of a process, or of one of its threads, from /proc."""
    path = f"/proc/{pid}/stat" if thread is None else f"/proc/{pid}/task/{thread}/stat"
    fields = Path(path).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def backend_pids() -> list[int]:
    """The PostgreSQL backends serving the scratch database, this process's own excepted."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return [pid for (pid,) in cursor.fetchall()]


def cpu_by_part(server: int, sink: int) -> dict[str, float]:
    """CPU seconds so far of the sink, the SMTP server's event loop (its main thread), the
    server's other threads, the server's PostgreSQL backends, and this process."""
    threads = [int(name) for name in os.listdir(f"/proc/{server}/task")]
    others = 0.0
    for thread in threads:
        if thread != server:
            with contextlib.suppress(FileNotFoundError):  # a thread that just ended
                others += cpu_seconds(server, thread)
    backends = 0.0
    for pid in backend_pids():
        with contextlib.suppress(FileNotFoundError):
            backends += cpu_seconds(pid)
    return {
        "sink": cpu_seconds(sink),
        "event loop": cpu_seconds(server, server),
        "other threads": others,
        "PostgreSQL": backends,
        "client": time.process_time(),
    }


def stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def main() -> None:
    args = parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="sesconsole-bench-smtp-"))
    database_url, pg_name = scratch_database(args.sqlite, workdir)
    broker = f"redis://127.0.0.1:6379/{args.redis_db}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "sesconsole.settings",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker,
        "SESCONSOLE_VAR_DIR": str(workdir),
        "SMTP_ALLOW_PLAINTEXT_AUTH_ON_LOOPBACK": "true",
        # Persistent connections, as docker-compose.yml runs the smtp service.
        "DATABASE_CONN_MAX_AGE": "60",
        "LOG_LEVEL": "WARNING",
    }
    if args.read_ahead is not None:
        env["SMTP_SESSION_READ_AHEAD_SECONDS"] = str(args.read_ahead)
    os.environ.update(env)
    server = sink = floor = None
    try:
        setup_django_and_migrate()
        username, password = setup_data()
        sink_port, smtp_port, floor_port = free_port(), free_port(), free_port()
        sink = subprocess.Popen(
            [PYTHON, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{sink_port}",
             "-c", "aiosmtpd.handlers.Sink"],
            cwd=BASE_DIR, env=env,
        )  # fmt: skip
        floor = subprocess.Popen(
            [PYTHON, str(BASE_DIR / "bench" / "smtp_floor.py"), str(floor_port),
             database_url.replace("postgres://", "postgresql://", 1)],
            cwd=BASE_DIR, env=env,
        )  # fmt: skip
        server = subprocess.Popen(
            [*MANAGE, "smtp_server", "--port", str(smtp_port), "--tls-port", "0"],
            cwd=BASE_DIR, env=env, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for_banner(sink_port, sink, "aiosmtpd sink")
        wait_for_banner(smtp_port, server, "sesconsole smtp_server")
        wait_for_banner(floor_port, floor, "the floor (bench/smtp_floor.py)")
        before = cpu_by_part(server.pid, sink.pid)
        bare = send_all(sink_port, args.count)
        sink_run = cpu_by_part(server.pid, sink.pid)
        print(f"bare aiosmtpd sink: {args.count} messages, {bare:7.1f} messages/s", flush=True)
        stored = send_all(floor_port, args.count)
        print(
            f"floor             : {args.count} messages, {stored:7.1f} messages/s, "
            f"{100 * stored / bare:.0f} % of the sink (aiosmtpd + one durable INSERT each)",
            flush=True,
        )
        before_ours = cpu_by_part(server.pid, sink.pid)
        ours = send_all(smtp_port, args.count, username, password)
        smtp_run = cpu_by_part(server.pid, sink.pid)
        print(f"sesconsole SMTP   : {args.count} messages, {ours:7.1f} messages/s", flush=True)
        print(f"sesconsole / sink : {100 * ours / bare:.0f} % (target: at least 50 %)")
        from django.conf import settings

        window = settings.SMTP_SESSION_READ_AHEAD_SECONDS
        print(f"(a session keeps its reads for {window:g} s: SMTP_SESSION_READ_AHEAD_SECONDS)")
        for name, (start, end) in (
            ("sink", (before, sink_run)),
            ("sesconsole", (before_ours, smtp_run)),
        ):
            print(
                f"CPU ms per message, {name} run: "
                + ", ".join(
                    f"{part} {1000 * (end[part] - start[part]) / args.count:.2f}" for part in end
                )
            )
        from sending.models import SentMessage

        print(f"stored            : {SentMessage.objects.count()} messages")
        direct = submit_directly(args.count, username, password)
        print(f"send() in-process : {args.count} messages, {direct:7.1f} messages/s (ceiling)")
    finally:
        stop(server)
        stop(sink)
        stop(floor)
        from django.db import connections

        connections.close_all()
        drop_scratch_database(pg_name)
        from sesconsole.celery import app

        app.control.purge()  # the queued deliveries; no worker was meant to run them


if __name__ == "__main__":
    main()
