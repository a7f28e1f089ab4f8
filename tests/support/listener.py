"""A TCP listener on loopback that records whether it was contacted, and what it was sent.

For the tests that prove a tenant cannot make sesconsole connect somewhere (tests/security):
the assertion is on `connections` and `received`, the listener's own record, not on an error
message. `mode` says what it does with a connection: "silent" reads and never answers, "close"
closes it at once (a port where something listens but speaks no DNS).
"""

from __future__ import annotations

import socket
import threading
from types import TracebackType


class RecordingListener:
    def __init__(self, mode: str = "silent") -> None:
        self.mode = mode
        self.connections = 0
        self.received = b""
        self._lock = threading.Lock()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen()
        self._sock.settimeout(0.1)
        self.host, self.port = self._sock.getsockname()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> RecordingListener:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            with self._lock:
                self.connections += 1
            with conn:
                if self.mode == "close":
                    continue
                conn.settimeout(0.1)
                while not self._stop.is_set():
                    try:
                        data = conn.recv(65536)
                    except TimeoutError:
                        continue
                    except OSError:
                        break
                    if not data:
                        break
                    with self._lock:
                        self.received += data


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
