"""Load benchmark: a bounded mixed load on gunicorn + PostgreSQL, with 10,000 identities.

    .venv/bin/python bench/load.py [--seconds 60] [--clients 8] [--workers 4]

1. (Re)create the database sesconsole_bench_load (DATABASE_URL on 127.0.0.1:5432), migrate,
   create the demo account, a console user and an API key, and bulk-insert 10,000 domain
   identities in us-east-1 for that account.
2. Start gunicorn (WORKERS processes) on a free loopback port, with an access log that records
   each request's server time (`%(D)s`, microseconds).
3. CLIENTS threads for SECONDS, each with its own signed-in session and boto3 client, pick at
   random: the Verified identities list page (page 1, sometimes another page), an identity's
   page, a console create (the form's CSRF token, then the POST), and the API calls
   GetEmailIdentity, CreateEmailIdentity and ListEmailIdentities.
4. Print per kind: requests, errors, throughput, client p50/p99 and server p50/p99 (from the
   access log); then stop gunicorn by its PID and drop the queued tasks from Redis db 13.

Targets (issue 6): zero errors; the list page's server p50 <= 25 ms with 10,000 identities.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import urllib3
from botocore.config import Config
from stack import PYTHON, ROOT, free_port, prepare_database, start_gunicorn, vacuum_analyze

DATABASE = "sesconsole_bench_load"
DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DATABASE}"
BROKER_URL = "redis://127.0.0.1:6379/13"
ACCOUNT = "123456789012"
USERNAME, PASSWORD = "loadbench", "load-bench-password-1"
KEY_ID = "AKIALOADBENCH0000001"
SECRET = "load-secret-load-secret-load-secret-0000"
IDENTITIES = 10_000
REGION = "us-east-1"
LIST_PATH = f"/{REGION}/verified-identities/"
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
# How often each kind is picked (out of the sum).
MIX = {
    "list page": 30,
    "identity page": 25,
    "console create": 10,
    "GetEmailIdentity": 15,
    "CreateEmailIdentity": 10,
    "ListEmailIdentities": 10,
}


def environment(var_dir: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": DATABASE_URL,
        "CELERY_BROKER_URL": BROKER_URL,
        "SESCONSOLE_VAR_DIR": var_dir,
        "MAX_IDENTITIES_PER_REGION": "1000000",  # the seed alone fills SES's 10,000
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
    }


def seed_console_user_and_identities(env: dict[str, str]) -> None:
    """A console user in the account and 10,000 identities (bulk, straight into the DB)."""
    manage = [PYTHON, str(ROOT / "manage.py")]
    seed = (
        "from django.contrib.auth import get_user_model\n"
        "from accounts.models import Account, Membership, Region\n"
        "from identities.models import Identity, VerificationStatus\n"
        f"a = Account.objects.get(pk='{ACCOUNT}'); r = Region.objects.get(code='{REGION}')\n"
        f"u = get_user_model().objects.create_user('{USERNAME}', password='{PASSWORD}')\n"
        "Membership.objects.create(user=u, account=a)\n"
        "statuses = [VerificationStatus.SUCCESS, VerificationStatus.PENDING, VerificationStatus.FAILED]\n"
        "Identity.objects.bulk_create([Identity(account=a, region=r, identity_type='DOMAIN',"
        " name=f'bulk{i:05d}.example.com', verification_status=statuses[i % 3])"
        f" for i in range({IDENTITIES})], batch_size=2000)\n"
    )
    subprocess.run([*manage, "shell", "-c", seed], env=env, check=True)


class Browser:
    """A signed-in console session: one keep-alive connection pool and its cookies."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.pool = urllib3.PoolManager(maxsize=1, retries=urllib3.Retry(0, redirect=False))
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, fields: dict[str, str] | None = None) -> Any:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        if method == "POST":
            headers["Referer"] = self.base + path
            response = self.pool.request(
                method,
                self.base + path,
                fields=fields or {},
                headers=headers,
                encode_multipart=False,
            )
        else:
            response = self.pool.request(method, self.base + path, headers=headers)
        for header in response.headers.getlist("Set-Cookie"):
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response

    def form_token(self, path: str) -> str:
        match = CSRF_FIELD.search(self.request("GET", path).data.decode())
        if match is None:
            raise RuntimeError(f"no CSRF token on {path}")
        return match.group(1)

    def sign_in(self) -> None:
        token = self.form_token("/login/")
        response = self.request(
            "POST", "/login/",
            {"csrfmiddlewaretoken": token, "username": USERNAME, "password": PASSWORD},
        )  # fmt: skip
        if response.status != 302:
            raise RuntimeError(f"sign-in failed: {response.status}")


class Worker:
    def __init__(self, base: str, number: int) -> None:
        self.number = number
        self.created = 0
        self.browser = Browser(base)
        self.browser.sign_in()
        self.ses = boto3.client(
            "sesv2", region_name=REGION, endpoint_url=base, aws_access_key_id=KEY_ID,
            aws_secret_access_key=SECRET,
            config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
        )  # fmt: skip

    def new_name(self, kind: str) -> str:
        self.created += 1
        return f"{kind}-{self.number}-{self.created}.load.example"

    def run(self, kind: str) -> bool:
        """One operation; True when it answered as expected."""
        browser = self.browser
        if kind == "list page":
            page = "" if random.random() < 0.8 else f"?page={random.randint(2, 200)}"
            return browser.request("GET", LIST_PATH + page).status == 200
        if kind == "identity page":
            name = f"bulk{random.randrange(IDENTITIES):05d}.example.com"
            return browser.request("GET", f"{LIST_PATH}{name}/").status == 200
        if kind == "console create":
            path = f"{LIST_PATH}create/"
            token = browser.form_token(path)
            fields = {
                "csrfmiddlewaretoken": token, "identity_type": "DOMAIN",
                "domain": self.new_name("console"), "key_length": "RSA_2048_BIT",
                "dkim_signing_enabled": "on",
            }  # fmt: skip
            return browser.request("POST", path, fields).status == 302
        if kind == "GetEmailIdentity":
            name = f"bulk{random.randrange(IDENTITIES):05d}.example.com"
            return self.ses.get_email_identity(EmailIdentity=name)["IdentityType"] == "DOMAIN"
        if kind == "CreateEmailIdentity":
            return self.ses.create_email_identity(EmailIdentity=self.new_name("api"))[
                "VerifiedForSendingStatus"
            ] in (True, False)
        if kind == "ListEmailIdentities":
            return len(self.ses.list_email_identities(PageSize=100)["EmailIdentities"]) == 100
        raise ValueError(kind)


def drive(
    base: str, clients: int, seconds: float
) -> tuple[dict[str, list[float]], dict[str, int], float]:
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    lock = threading.Lock()
    workers = [Worker(base, n) for n in range(clients)]
    kinds, weights = list(MIX), list(MIX.values())
    stop_at = time.monotonic() + seconds

    def loop(worker: Worker) -> None:
        rng = random.Random(worker.number)
        while time.monotonic() < stop_at:
            kind = rng.choices(kinds, weights)[0]
            started = time.perf_counter()
            try:
                ok = worker.run(kind)
            except Exception as exc:  # an error is counted, never fatal
                ok = False
                print(f"{kind}: {exc!r}", file=sys.stderr)
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                latencies[kind].append(elapsed)
                errors[kind] += not ok

    started = time.perf_counter()
    threads = [threading.Thread(target=loop, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors, time.perf_counter() - started


def server_times(access_log: Path, skip: int) -> dict[str, list[float]]:
    """Server milliseconds per kind of request, from the access log lines after `skip`."""
    kind_of: list[tuple[Callable[[str, str], bool], str]] = [
        (lambda m, p: m == "GET" and p == LIST_PATH, "list page"),
        (lambda m, p: p == f"{LIST_PATH}create/", f"console create ({'form'})"),
        (lambda m, p: m == "GET" and p.startswith(LIST_PATH + "bulk"), "identity page"),
        (lambda m, p: m == "GET" and p.startswith("/v2/email/identities/"), "GetEmailIdentity"),
        (lambda m, p: m == "POST" and p == "/v2/email/identities", "CreateEmailIdentity"),
        (lambda m, p: p == "/v2/email/list-identities", "ListEmailIdentities"),
    ]
    times: dict[str, list[float]] = defaultdict(list)
    time.sleep(0.5)  # let the workers flush
    for line in access_log.read_text().splitlines()[skip:]:
        parts = line.split()
        if len(parts) != 4:
            continue
        method, path, _status, micros = parts
        for test, kind in kind_of:
            if test(method, path):
                if kind.startswith("console create"):
                    kind = "console create (POST)" if method == "POST" else "console create (form)"
                times[kind].append(int(micros) / 1000)
                break
    return times


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def report(
    latencies: dict[str, list[float]], errors: dict[str, int], wall: float,
    server: dict[str, list[float]], clients: int, workers: int,
) -> None:  # fmt: skip
    total = sum(len(v) for v in latencies.values())
    print(
        f"\n{clients} clients, {workers} gunicorn workers, {wall:.0f} s, {IDENTITIES:,} identities "
        f"in {REGION}: {total:,} operations, {total / wall:.1f}/s, "
        f"{sum(errors.values())} errors\n"
    )
    print(
        f"{'operation':24} {'count':>6} {'errors':>6} {'ops/s':>7} {'client p50':>11} {'client p99':>11}"
    )
    for kind in MIX:
        values = latencies.get(kind, [])
        if not values:
            continue
        print(
            f"{kind:24} {len(values):>6} {errors[kind]:>6} {len(values) / wall:>7.1f} "
            f"{statistics.median(values):>8.1f} ms {percentile(values, 0.99):>8.1f} ms"
        )
    print(f"\n{'server time (access log)':28} {'requests':>8} {'p50':>9} {'p99':>9}")
    for kind, values in sorted(server.items()):
        print(
            f"{kind:28} {len(values):>8} {statistics.median(values):>6.1f} ms "
            f"{percentile(values, 0.99):>6.1f} ms"
        )
    list_p50 = statistics.median(server.get("list page", [0.0]))
    verdict = "met" if list_p50 <= 25 and sum(errors.values()) == 0 else "NOT met"
    print(
        f"\nTarget (zero errors, list page server p50 <= 25 ms): {verdict} "
        f"(list page p50 {list_p50:.1f} ms)"
    )


def purge_broker() -> None:
    """Drop the tasks the creates queued (no worker runs during the benchmark)."""
    import redis

    connection = redis.Redis.from_url(BROKER_URL)
    connection.delete("celery", "_kombu.binding.celery", "_kombu.binding.celery.pidbox")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    var_dir = tempfile.mkdtemp(prefix="sesconsole-load-")
    env = environment(var_dir)
    prepare_database(DATABASE, env, account=ACCOUNT, key_id=KEY_ID, secret=SECRET)
    seed_console_user_and_identities(env)
    vacuum_analyze(DATABASE)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    access_log = Path(var_dir) / "access.log"
    gunicorn = start_gunicorn(env, port, access_log, workers=args.workers)
    try:
        warm = Worker(base, 99)  # each worker process loads Django and connects once
        for _ in range(args.workers * 4):
            warm.run("list page")
            warm.run("GetEmailIdentity")
        skip = len(access_log.read_text().splitlines())
        latencies, errors, wall = drive(base, args.clients, args.seconds)
        server = server_times(access_log, skip)
    finally:
        gunicorn.terminate()
        gunicorn.wait(timeout=30)
        purge_broker()
        shutil.rmtree(var_dir, ignore_errors=True)
    report(latencies, errors, wall, server, args.clients, args.workers)


if __name__ == "__main__":
    main()
