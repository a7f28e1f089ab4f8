"""gunicorn's settings for the web service: the image runs `gunicorn sesconsole.wsgi` in /app,
where gunicorn reads this file, and bench/api.py starts gunicorn with it, so the benchmarks
measure what a deployment runs. Command-line flags override it.

WEB_CONCURRENCY sets the worker processes, WEB_THREADS the threads per worker (README,
"Production").
"""

from __future__ import annotations

import os

workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
# Threads (gunicorn's gthread worker) rather than plain sync workers: a sync worker closes the
# connection after every response, so each boto3 call opened a new one, and a process sat idle
# while its request waited on PostgreSQL or Redis. With 8 API clients on 2 CPUs, 3 workers x 4
# threads served GetEmailIdentity at 1.5-1.6x the calls/s of 3 sync workers in the same run
# (bench/web_workers.py, BENCHMARKS.md "Seventh session").
threads = int(os.environ.get("WEB_THREADS", "4"))

# The access log names each request's X-Request-Id, the id on the app's own log lines.
accesslog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms request=%({x-request-id}o)s'


def post_worker_init(worker: object) -> None:
    """Load in each new worker, before it takes requests, what its first requests would load:
    URLconfs, task modules, the broker's transport, the public suffix list, botocore's SES
    model (api/warmup.py). Without it a fresh worker's first API call took 0.7-1.1 s.

    Only for an application that has set Django up: bench/api.py serves its bare WSGI floor
    (bench/hello_wsgi.py) with this file too. Imported here, not at the top: the master reads
    this file before any worker has loaded the application."""
    from django.apps import apps

    if not apps.ready:
        return
    from api.warmup import warm_up

    warm_up()
