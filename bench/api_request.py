"""Benchmark one API request in process: CPU, wall time and SQL statements per call.

Run: .venv/bin/python bench/api_request.py [--redis-db 12] [--calls 500] [--profile KIND]
                                            [--sort tottime]
     (needs PostgreSQL on 127.0.0.1:5432 and Redis on :6379)

bench/api.py measures what a client sees through gunicorn; on a shared machine its figures
swing with the other processes' load. This bench calls Django's WSGI handler directly with
requests signed by botocore, the way gunicorn calls it, and reports for each kind of call the
process CPU time (`time.process_time()`, every thread of the process: the background
publisher included), the wall time and the SQL statements. CPU time per call is what changes
when the request path's code changes, whatever the rest of the machine does.

1. Create a scratch database, migrate it, add the demo account (production access, no quota
   limits), an access key, a verified domain and 5,000 identities.
2. For each kind (`noop`: the ceiling's no-op view; `get`: GetEmailIdentity; `create-domain`,
   `create-address`: CreateEmailIdentity; `list`: a ListEmailIdentities page of 1,000;
   `send`: SendEmail, Simple content, one recipient): sign `--calls` requests beforehand, run
   20 untimed, then the rest, each one timed.
3. Print per kind: median and mean CPU ms, median wall ms, statements per call, and the
   Python function calls per request (50 more calls under cProfile, in the request's thread:
   a count that does not move with the machine's load). With `--profile KIND`, the profile
   covers `--calls` calls and is printed (top 40 by cumulative time, or `--sort`'s order:
   `tottime` shows where the Python time itself goes).
4. Drop the scratch database. The creates' and sends' queued tasks are purged from the broker.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from stack import drop_scratch_database, scratch_database, vacuum_analyze_in_process

ACCOUNT = "123456789012"
KEY_ID = "AKIABENCHREQUEST0001"
SECRET = "bench-secret-bench-secret-bench-secret00"
REGION = "us-east-1"
HOST = "127.0.0.1:8000"
DOMAIN = "bench.example"
IDENTITIES = 5_000  # the region allows 10,000: room for the creates
KINDS = ("noop", "get", "create-domain", "create-address", "list", "send")
WARM_UP = 20
COUNTED = 50  # calls profiled for the function-call count


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis-db", type=int, default=12, help="Redis database for the broker")
    parser.add_argument("--calls", type=int, default=500, help="timed calls per kind")
    parser.add_argument("--kinds", default=",".join(KINDS), help="comma-separated kinds to run")
    parser.add_argument("--profile", choices=KINDS, help="print the cProfile of this kind")
    parser.add_argument(
        "--sort", default="cumulative", help="the profile's order: cumulative, tottime..."
    )
    parser.add_argument(
        "--gap-ms", type=float, default=0.0,
        help="pause between calls, untimed (a client's own time between two calls: what a "
        "background thread such as the task publisher runs in)",
    )  # fmt: skip
    return parser.parse_args()


def setup_django(redis_db: int, workdir: Path) -> str | None:
    """Configure Django on a scratch database as a deployment would; return its name."""
    database_url, scratch = scratch_database(False, workdir)
    os.environ.update(
        {
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": f"redis://127.0.0.1:6379/{redis_db}",
            "SECRET_KEY": "bench-secret-key-bench-secret-key-bench-secret-key",
            "SESCONSOLE_BENCH": "1",
            "SESCONSOLE_VAR_DIR": str(workdir),
            "DEBUG": "false",
            "LOG_LEVEL": "WARNING",
            "ALLOWED_HOSTS": "127.0.0.1",
            "DJANGO_SETTINGS_MODULE": "sesconsole.settings",
        }
    )
    import django

    django.setup()
    return scratch


def prepare() -> None:
    from django.core.management import call_command

    from accounts.models import Account, Region
    from identities import operations, provisioning
    from identities.models import Identity, IdentityType

    call_command("migrate", verbosity=0)
    call_command("demo_setup", stdout=io.StringIO())
    call_command(
        "create_access_key", account=ACCOUNT, access_key_id=KEY_ID, secret=SECRET,
        stdout=io.StringIO(),
    )  # fmt: skip
    account = Account.objects.get(pk=ACCOUNT)
    region = Region.objects.get(code=REGION)
    state = account.region_settings(region)
    state.grant_production_access()
    state.max_24_hour_send = -1
    state.max_send_rate = -1
    state.save(update_fields=["max_24_hour_send", "max_send_rate"])
    spec = provisioning.NewIdentity(identity_type=IdentityType.DOMAIN, name=DOMAIN)
    domain = operations.create_identity(account, region, spec, actor="system (bench)")
    Identity.objects.filter(pk=domain.pk).update(verification_status="SUCCESS")
    Identity.objects.bulk_create(
        [
            Identity(
                account=account,
                region=region,
                identity_type=IdentityType.EMAIL_ADDRESS,
                name=f"bulk{i:06d}@example.com",
            )
            for i in range(IDENTITIES)
        ],
        batch_size=2000,
    )
    vacuum_analyze_in_process()


def signed_environ(method: str, path: str, body: dict[str, Any] | None) -> dict[str, Any]:
    """A WSGI environ as gunicorn builds it, for a request botocore signed."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    data = json.dumps(body).encode() if body is not None else b""
    request = AWSRequest(
        method=method,
        url=f"http://{HOST}{path}",
        data=data,
        headers={"Content-Type": "application/json"} if body is not None else {},
    )
    SigV4Auth(Credentials(KEY_ID, SECRET), "ses", REGION).add_auth(request)
    prepared = request.prepare()
    split = urlsplit(prepared.url)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": split.path,
        "QUERY_STRING": split.query,
        "RAW_URI": split.path + (f"?{split.query}" if split.query else ""),
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(data),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
        "CONTENT_LENGTH": str(len(data)),
    }
    for name, value in prepared.headers.items():
        key = name.upper().replace("-", "_")
        if key == "CONTENT_TYPE":
            environ["CONTENT_TYPE"] = value
        elif key != "CONTENT_LENGTH":
            environ[f"HTTP_{key}"] = value if isinstance(value, str) else value.decode()
    environ["HTTP_HOST"] = HOST
    return environ


def requests_for(kind: str, count: int) -> list[dict[str, Any]]:
    if kind == "noop":
        return [signed_environ("GET", "/_bench/noop", None) for _ in range(count)]
    if kind == "get":
        names = [DOMAIN] + [f"bulk{i:06d}@example.com" for i in range(count)]
        return [signed_environ("GET", f"/v2/email/identities/{names[i % 50]}", None)
                for i in range(count)]  # fmt: skip
    if kind == "create-domain":
        stamp = time.monotonic_ns()
        return [
            signed_environ("POST", "/v2/email/identities", {"EmailIdentity": f"c{stamp}-{i}.ex"})
            for i in range(count)
        ]
    if kind == "create-address":
        stamp = time.monotonic_ns()
        return [
            signed_environ(
                "POST", "/v2/email/identities", {"EmailIdentity": f"s{i}@c{stamp}.example.org"}
            )
            for i in range(count)
        ]
    if kind == "list":
        return [
            signed_environ("POST", "/v2/email/list-identities", {"PageSize": 1000})
            for _ in range(count)
        ]
    return [signed_environ("POST", "/v2/email/outbound-emails", send_body(i)) for i in range(count)]


def send_body(number: int) -> dict[str, Any]:
    return {
        "FromEmailAddress": f"sender@{DOMAIN}",
        "Destination": {"ToAddresses": [f"r{number}@sink.example"]},
        "Content": {
            "Simple": {
                "Subject": {"Data": f"Bench {number}"},
                "Body": {"Text": {"Data": "Hello from the benchmark.\n" * 20}},
            }
        },
    }


def call(application: Callable[..., Iterable[bytes]], environ: dict[str, Any]) -> bytes:
    status: list[str] = []

    def start_response(line: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        status.append(line)

    body = b"".join(application(environ, start_response))
    if not status[0].startswith("200"):
        raise RuntimeError(f"{environ['PATH_INFO']}: {status[0]} {body[:300]!r}")
    return body


def measure(
    application: Any, kind: str, calls: int, profile: bool, gap: float, sort: str = "cumulative"
) -> str:
    """Time `calls` calls of `kind`, then run COUNTED more (all `calls` with `profile`) under
    cProfile: the Python function calls per request do not move with the machine's load."""
    from django.db import connection

    counted = calls if profile else COUNTED
    environs = requests_for(kind, WARM_UP + calls + counted)
    for environ in environs[:WARM_UP]:
        call(application, environ)
    statements = 0

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        nonlocal statements
        statements += 1
        return execute(sql, params, many, context)

    cpu: list[float] = []
    wall: list[float] = []
    with connection.execute_wrapper(count):
        for environ in environs[WARM_UP : WARM_UP + calls]:
            started_cpu, started = time.process_time(), time.perf_counter()
            call(application, environ)
            cpu.append((time.process_time() - started_cpu) * 1000)
            wall.append((time.perf_counter() - started) * 1000)
            time.sleep(gap)
    profiler = cProfile.Profile()
    for environ in environs[WARM_UP + calls :]:
        profiler.enable()
        call(application, environ)
        profiler.disable()
        time.sleep(gap)
    stats = pstats.Stats(profiler, stream=io.StringIO())
    line = (
        f"{kind:15} cpu p50 {statistics.median(cpu):6.3f} ms  mean {statistics.mean(cpu):6.3f} ms"
        f"  wall p50 {statistics.median(wall):6.3f} ms  statements/call {statements / calls:.2f}"
        f"  python calls/call {stats.total_calls / counted:,.0f}"  # type: ignore[attr-defined]
    )
    if profile:
        out = io.StringIO()
        stats.stream = out  # type: ignore[attr-defined]
        stats.sort_stats(sort).print_stats(40)
        stats.print_callees("_handle|view$|api_requests_middleware|middleware$")
        line += "\n" + out.getvalue()
    return line


def purge_broker(redis_db: int) -> None:
    import redis

    from sesconsole.enqueue import wait_for_background_publishes

    wait_for_background_publishes()
    connection = redis.Redis.from_url(f"redis://127.0.0.1:6379/{redis_db}")
    connection.delete("celery", "_kombu.binding.celery", "_kombu.binding.celery.pidbox")


def main() -> None:
    options = arguments()
    workdir = Path(tempfile.mkdtemp(prefix="bench-api-request-"))
    scratch = setup_django(options.redis_db, workdir)
    try:
        prepare()
        from django.core.wsgi import get_wsgi_application

        application = get_wsgi_application()
        print(
            f"load average {os.getloadavg()[0]:.2f}; {options.calls} timed calls per kind, "
            f"{options.gap_ms} ms apart"
        )
        for kind in options.kinds.split(","):
            profile = kind == options.profile
            line = measure(
                application, kind, options.calls, profile, options.gap_ms / 1000, options.sort
            )
            print(line, flush=True)
        print(f"load average {os.getloadavg()[0]:.2f}")
    finally:
        from django.db import connections

        purge_broker(options.redis_db)
        connections.close_all()
        drop_scratch_database(scratch)


if __name__ == "__main__":
    main()
