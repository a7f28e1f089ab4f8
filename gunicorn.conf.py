"""gunicorn's settings for the web service: the image runs `gunicorn sesconsole.wsgi` in /app,
where gunicorn reads this file, and bench/api.py starts gunicorn with it, so the benchmarks
measure what a deployment runs. Command-line flags override it.

WEB_CONCURRENCY sets the worker processes, WEB_THREADS the threads per worker (README,
"Production").
"""

from __future__ import annotations

import os

workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
threads = int(os.environ.get("WEB_THREADS", "1"))

# The access log names each request's X-Request-Id, the id on the app's own log lines.
accesslog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms request=%({x-request-id}o)s'
