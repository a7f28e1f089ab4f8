"""Benchmark: the delivery publish alone, as the send operation hands it over after commit.

    .venv/bin/python bench/publish.py [--count 2000] [--rate 300] [--redis-db 9]

`sending.queue.deliver_after_commit` is called COUNT times (no transaction: each hand-over
runs at once, as at a commit) with the broker on Redis (127.0.0.1:6379, database REDIS_DB,
emptied before and after), and a SQLite file as the database (the hand-over only needs a
connection). Two phases:

- paced: one hand-over every 1/RATE s, as the SMTP server's messages arrive;
- burst: all COUNT at once, as many API threads would hand them over.

Each prints the process's CPU (`time.process_time()`, every thread: the hand-overs and the
publisher thread) per message and the publisher thread's alone (from /proc), the wall time until `wait_for_background_publishes()` returns,
and the broker messages the publishes made (one per message before batching).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=300.0, help="hand-overs/s when paced")
    parser.add_argument("--redis-db", type=int, default=9, help="Redis database (broker)")
    return parser.parse_args()


def publisher_cpu() -> float:
    """CPU seconds (user + system) the publisher thread has used, from /proc (tick resolution)."""
    thread = next((t for t in threading.enumerate() if t.name == "celery-publisher"), None)
    if thread is None:  # not started yet: nothing handed over
        return 0.0
    fields = Path(f"/proc/self/task/{thread.native_id}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def hand_over(count: int, interval: float, first_id: int) -> tuple[float, float, float]:
    """Hand `count` deliveries over, one every `interval` s; (CPU s of the process, CPU s of the
    publisher thread, wall s) until all are published."""
    from sending import queue
    from sesconsole.enqueue import wait_for_background_publishes

    cpu, thread_cpu, wall = time.process_time(), publisher_cpu(), time.perf_counter()
    for n in range(count):
        if interval:
            # Paced against the start, so a late wake-up is caught up rather than drifting.
            delay = wall + n * interval - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        queue.deliver_after_commit(first_id + n)
    assert wait_for_background_publishes(60)
    return (
        time.process_time() - cpu,
        publisher_cpu() - thread_cpu,
        time.perf_counter() - wall,
    )


def broker_messages(redis_url: str) -> int:
    """The messages in the "celery" queue, which is then emptied."""
    import redis

    client = redis.Redis.from_url(redis_url)
    count = int(client.llen("celery"))
    client.delete("celery")
    return count


def main() -> None:
    args = parse_args()
    redis_url = f"redis://127.0.0.1:6379/{args.redis_db}"
    workdir = Path(tempfile.mkdtemp(prefix="bench-publish-"))
    os.environ.update(
        DJANGO_SETTINGS_MODULE="sesconsole.settings",
        DATABASE_URL=f"sqlite:///{workdir / 'bench.sqlite3'}",
        CELERY_BROKER_URL=redis_url,
        CELERY_TASK_ALWAYS_EAGER="false",
    )
    import django

    django.setup()
    broker_messages(redis_url)
    hand_over(50, 0.0, 1)  # warm-up: the broker connection, the publisher thread
    broker_messages(redis_url)
    print(f"{args.count} hand-overs, load average {os.getloadavg()[0]:.1f}")
    for phase, interval in (("paced", 1 / args.rate), ("burst", 0.0)):
        cpu, thread_cpu, wall = hand_over(args.count, interval, 1_000)
        published = broker_messages(redis_url)
        print(
            f"{phase:5}: CPU {cpu / args.count * 1000:.3f} ms/message "
            f"(publisher thread {thread_cpu / args.count * 1000:.3f}), "
            f"wall {wall:.2f} s ({args.count / wall:.0f} messages/s), "
            f"{published} broker messages"
        )
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
