"""Benchmark: gunicorn worker settings for 8 concurrent API clients, side by side in one run.

Starts one gunicorn per setting (gunicorn.conf.py with the workers and threads given) on the
same database and takes turns between them in rounds of 100 calls from 8 client threads:
CreateEmailIdentity (domains) and GetEmailIdentity. Prints calls/s and client p50 per setting.

    .venv/bin/python bench/web_workers.py [--redis-db 12] [--settings 2x1,3x1,5x1,3x4]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path
from typing import Any

from stack import free_port, prepare_database, start_gunicorn

from api import ACCOUNT, KEY_ID, REDIS_URL, SECRET, client, creates, environment, gets, run

THREADS = 8
ROUNDS = 6
PER_ROUND = 100


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis-db", type=int, default=14)
    parser.add_argument("--database", default="sesconsole_bench_workers")
    parser.add_argument("--settings", default="2x1,3x1,5x1,3x4", help="WORKERSxTHREADS,...")
    options = parser.parse_args()
    var_dir = tempfile.mkdtemp(prefix="sesconsole-bench-")
    env = environment(var_dir, options.database, REDIS_URL.format(db=options.redis_db))
    prepare_database(options.database, env, account=ACCOUNT, key_id=KEY_ID, secret=SECRET)
    setups = [tuple(int(n) for n in s.split("x")) for s in options.settings.split(",")]
    servers: dict[str, tuple[Any, list[Any]]] = {}
    try:
        for workers, threads in setups:
            port = free_port()
            log = Path(var_dir) / f"{workers}x{threads}.log"
            process = start_gunicorn(env, port, log, workers=workers, threads=threads)
            clients = [client(f"http://127.0.0.1:{port}") for _ in range(THREADS)]
            servers[f"{workers} workers x {threads} threads"] = (process, clients)
            run([lambda c: c.get_account()] * 50, clients, THREADS)  # warm every worker
        results: dict[str, dict[str, list[float]]] = {n: {} for n in servers}
        for round_number in range(ROUNDS):
            for name, (_, clients) in servers.items():
                tag = f"{name.split()[0]}w{name.split()[3]}t-round{round_number}"
                names = [f"{tag}-{i}.example.com" for i in range(PER_ROUND)]
                for label, calls in (("create", creates(names)), ("get", gets(names))):
                    wall, latencies = run(calls, clients, THREADS)
                    entry = results[name].setdefault(label, [])
                    entry.append(PER_ROUND / wall)
                    results[name].setdefault(label + " ms", []).extend(latencies)
        for name, figures in results.items():
            print(
                f"{name}: CreateEmailIdentity {statistics.median(figures['create']):.0f} calls/s "
                f"(p50 {statistics.median(figures['create ms']):.1f} ms), GetEmailIdentity "
                f"{statistics.median(figures['get']):.0f} calls/s "
                f"(p50 {statistics.median(figures['get ms']):.1f} ms)"
            )
    finally:
        for process, _ in servers.values():
            process.terminate()
            process.wait(timeout=30)


if __name__ == "__main__":
    main()
