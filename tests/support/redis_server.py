"""A private redis-server on a loopback port, for tests that take the broker away.

`RedisServer.stop()` and `start()` simulate an outage: the server is stopped by its PID and
started again on the same port, empty (no RDB, no AOF), as after a crash that lost the queue.
The machine's shared Redis (127.0.0.1:6379) is never touched. Nothing here imports Django.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support.knot import free_port

INSTALL_HINT = "apt-get install -y redis-server"


class RedisError(RuntimeError):
    """redis-server did not start."""


def find_redis_server() -> str | None:
    return shutil.which("redis-server")


class RedisServer:
    def __init__(self, *, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = free_port(host)
        self._dir = tempfile.TemporaryDirectory(prefix="redis-test-")
        self._proc: subprocess.Popen[bytes] | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://{self.host}:{self.port}/{db}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = 10.0) -> RedisServer:
        if self.running:
            return self
        binary = find_redis_server()
        if binary is None:
            raise RedisError(f"redis-server is not installed; run: {INSTALL_HINT}")
        log = Path(self._dir.name) / "redis.log"
        with log.open("ab") as out:
            command = [binary, "--bind", self.host, "--port", str(self.port), "--save", ""]
            command += ["--appendonly", "no", "--dir", self._dir.name]
            self._proc = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RedisError(f"redis-server exited:\n{log.read_text(errors='replace')}")
            if self.ping():
                return self
            time.sleep(0.05)
        self.stop()
        raise RedisError(f"redis-server did not answer PING within {timeout:g} s")

    def stop(self) -> None:
        """Stop the server started here, by its PID."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

    def close(self) -> None:
        self.stop()
        self._dir.cleanup()

    def ping(self) -> bool:
        with (
            contextlib.suppress(OSError),
            socket.create_connection((self.host, self.port), timeout=0.5) as conn,
        ):
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
        return False
