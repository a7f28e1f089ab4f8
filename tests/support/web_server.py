"""gunicorn serving sesconsole on a loopback port, for tests against the production web server.

`web_server(env)` starts `gunicorn sesconsole.wsgi` with the given environment (DATABASE_URL,
CELERY_BROKER_URL, DNS_*, EMAIL_*, SESCONSOLE_VAR_DIR, ...), waits until it answers HTTP, and
stops it by its PID when the block ends. Nothing here imports Django.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support.celery_worker import BASE_DIR, wait_for
from tests.support.knot import free_port

GUNICORN = BASE_DIR / ".venv" / "bin" / "gunicorn"


@dataclass(frozen=True)
class WebServer:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def answers(host: str, port: int) -> bool:
    with contextlib.suppress(OSError, http.client.HTTPException):
        connection = http.client.HTTPConnection(host, port, timeout=2)
        try:
            connection.request("GET", "/login/")
            return connection.getresponse().status < 500
        finally:
            connection.close()
    return False


@contextlib.contextmanager
def web_server(
    env: dict[str, str],
    *,
    workers: int = 2,
    port: int | None = None,
    log_path: Path | None = None,
) -> Iterator[WebServer]:
    """Run gunicorn on 127.0.0.1:`port` (a free one by default) until the block ends; stop it
    by its PID. It reads the checkout's gunicorn.conf.py, so its workers run threads as a
    deployment's do. Its access and error log go to `log_path` (or a temporary file)."""
    host, port = "127.0.0.1", port or free_port()
    log = (
        log_path.open("ab")
        if log_path is not None
        else tempfile.NamedTemporaryFile(prefix="gunicorn-", suffix=".log", delete=False)  # noqa: SIM115
    )
    command = [
        str(GUNICORN), "sesconsole.wsgi", "--bind", f"{host}:{port}", "--workers", str(workers),
        "--access-logfile", "-", "--graceful-timeout", "5", "--timeout", "60",
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        cwd=BASE_DIR,
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its workers can be signalled as one group if it hangs
    )
    server = WebServer(f"http://{host}:{port}", process, Path(log.name))
    try:
        wait_for(
            lambda: process.poll() is not None or answers(host, port), 60, "gunicorn to answer"
        )
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {server.log()[-3000:]}")
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
        log.close()
