"""A tiny UDP DNS relay in front of a real server, that a test can make hold its answers.

Fault tests point the workers' resolver here (DNS_NAMESERVERS/DNS_PORT) instead of at Knot.
Normally it relays each query to the upstream server and the answer back. `hold()` makes it
keep the queries that arrive, unanswered, until `release()`: a DNS check is then caught
mid-flight, holding its leases, for as long as the test needs (less than the resolver's
timeout). It also counts the queries per name it has seen, for tests that want to know
what was looked up.

UDP only: the answers these tests deal with (CNAMEs, SOA) never need TCP. Nothing here
imports Django.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import socket
import threading

import dns.message

from tests.support.knot import free_port


class DnsProxy:
    def __init__(self, upstream: tuple[str, int], *, host: str = "127.0.0.1") -> None:
        self.upstream = upstream
        self.host = host
        self.port = free_port(host)
        self.queries: collections.Counter[str] = collections.Counter()
        self.held = 0  # queries that arrived while holding
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._released: asyncio.Event | None = None
        self._transport: asyncio.DatagramTransport | None = None
        self._lock = threading.Lock()

    # -- control, from the test thread ------------------------------------------------------------
    def start(self) -> DnsProxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(timeout=5)
        return self

    def hold(self) -> None:
        with self._lock:
            self.held = 0
        asyncio.run_coroutine_threadsafe(self._set_hold(True), self._loop).result(timeout=5)

    def release(self) -> None:
        asyncio.run_coroutine_threadsafe(self._set_hold(False), self._loop).result(timeout=5)

    def close(self) -> None:
        if not self._thread.is_alive():
            return
        with contextlib.suppress(Exception):
            self.release()
        if self._transport is not None:
            self._loop.call_soon_threadsafe(self._transport.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def seen(self, suffix: str) -> int:
        """How many queries for names ending in `suffix` arrived so far."""
        suffix = suffix.rstrip(".").lower()
        with self._lock:
            return sum(n for name, n in self.queries.items() if name.endswith(suffix))

    # -- the relay, in its own event loop ---------------------------------------------------------
    async def _set_hold(self, holding: bool) -> None:
        if holding:
            self._released = asyncio.Event()
        elif self._released is not None:
            self._released.set()
            self._released = None

    async def _listen(self) -> None:
        proxy = self

        class Protocol(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                proxy._loop.create_task(proxy._relay(data, addr))

        transport, _ = await self._loop.create_datagram_endpoint(
            Protocol, local_addr=(self.host, self.port)
        )
        self._transport = transport  # type: ignore[assignment]

    async def _relay(self, data: bytes, addr: tuple[str, int]) -> None:
        with contextlib.suppress(Exception):
            name = dns.message.from_wire(data).question[0].name.to_text(omit_final_dot=True)
            with self._lock:
                self.queries[name.lower()] += 1
        released = self._released
        if released is not None:
            with self._lock:
                self.held += 1
            await released.wait()
        upstream = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        upstream.setblocking(False)
        try:
            await self._loop.sock_connect(upstream, self.upstream)
            await self._loop.sock_sendall(upstream, data)
            answer = await asyncio.wait_for(self._loop.sock_recv(upstream, 65535), timeout=5)
        except (OSError, TimeoutError):
            return  # the upstream server is down: no answer, as from a dead server
        finally:
            upstream.close()
        if self._transport is not None:
            self._transport.sendto(answer, addr)
