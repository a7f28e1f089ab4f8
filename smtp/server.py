"""The SMTP submission server: aiosmtpd sessions with SES's rules and replies.

One asyncio loop serves every connection; database work (logins, sends) runs in a small pool
of threads, each with its own Django connection, so a slow query never stalls other sessions.

- STARTTLS listener (SMTP_PORT): TLS is required before AUTH and MAIL, as SES requires, except
  for loopback clients when SMTP_ALLOW_PLAINTEXT_AUTH_ON_LOOPBACK is on (the embedded mode).
- Implicit-TLS listener (SMTP_TLS_PORT, SES's "TLS Wrapper"): the session is encrypted from
  the first byte, so AUTH is offered at once and STARTTLS is not.
- Nothing is accepted without AUTH (no open relay); what an authenticated session may send is
  decided by the send operation (smtp.submission).
- aiosmtpd's log would show every command line; its logger is kept at ERROR so
  envelopes and AUTH exchanges never reach the logs. This module logs key ids, never secrets.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import signal
import ssl
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections

from . import replies, tls
from .credentials import LoginRefused, SmtpLogin, authenticate
from .handler import Handler

log = logging.getLogger(__name__)
T = TypeVar("T")

# RFC 5321 §4.5.3.2: a client may take minutes to send a large message; SMTP_TIMEOUT is for
# the gaps between commands.
DATA_TIMEOUT = 300.0


@dataclass(frozen=True)
class ServerConfig:
    host: str
    port: int
    tls_port: int
    server_name: str
    max_message_size: int
    timeout: float
    max_connections: int
    worker_threads: int
    allow_plaintext_on_loopback: bool

    @classmethod
    def from_settings(cls, **overrides: Any) -> ServerConfig:
        values = {
            "host": settings.SMTP_BIND_HOST,
            "port": settings.SMTP_PORT,
            "tls_port": settings.SMTP_TLS_PORT,
            "server_name": settings.SMTP_SERVER_NAME,
            "max_message_size": settings.SMTP_MAX_MESSAGE_SIZE,
            "timeout": settings.SMTP_TIMEOUT,
            "max_connections": settings.SMTP_MAX_CONNECTIONS,
            "worker_threads": settings.SMTP_WORKER_THREADS,
            "allow_plaintext_on_loopback": settings.SMTP_ALLOW_PLAINTEXT_AUTH_ON_LOOPBACK,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def _in_thread(function: Callable[..., T], *args: Any) -> T:
    # As around a web request: drop a connection that broke (the database restarted) or grew
    # old before the work, and give it back after, so no thread holds one it doesn't use.
    close_old_connections()
    try:
        return function(*args)
    finally:
        close_old_connections()


@dataclass
class ServerState:
    """What every session of one server shares: its settings, TLS, the pool, the count."""

    config: ServerConfig
    tls_context: ssl.SSLContext
    executor: ThreadPoolExecutor
    open_connections: int = 0
    handler: Handler = field(default_factory=Handler)
    sessions: set[SmtpSession] = field(default_factory=set)

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, partial(_in_thread, function, *args))


def is_loopback(peer: Any) -> bool:
    try:
        return ipaddress.ip_address(peer[0]).is_loopback
    except (TypeError, ValueError, IndexError):
        return False


def written_address(argument: str) -> str:
    """The address part of a MAIL FROM or RCPT TO argument as the client wrote it: what is
    inside its angle brackets, or its first word, without the parameters after it."""
    text = argument.strip()
    if text.startswith("<"):
        inside, _closing, _parameters = text[1:].partition(">")
        return inside
    return text.split(maxsplit=1)[0] if text else ""


# The path almost every client writes, `<local@domain>` with dot-atom local part and domain
# (RFC 5321 §4.1.2), then the parameters: read here as aiosmtpd's parser reads it, which
# cost about a fifth of the event loop's CPU per message (BENCHMARKS.md, issue 16; the
# parser's answer is what tests/smtp/test_paths.py holds this to). Anything else (quoting,
# comments, literals, non-ASCII) goes to that parser.
_DOT_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
# The parser drops the white space (and comments) after `>`: the parameters are read here
# only when they start with a printable character that is not `(`, after blanks or none.
_PLAIN_PATH = re.compile(
    rf"<(?P<local>{_DOT_ATOM})@(?P<domain>{_DOT_ATOM})>[ \t]*(?P<rest>(?:[!-'*-~][ -~]*)?)\Z"
)


def plain_path(argument: str) -> tuple[str, str, str] | None:
    """(local part, domain, the parameters after `>`) of a MAIL FROM or RCPT TO argument in
    the plain shape; None for any other shape."""
    found = _PLAIN_PATH.match(argument)
    return None if found is None else (found["local"], found["domain"], found["rest"])


def _refuse_credentials(server: SMTP, session: Session, envelope: Envelope, *args: Any) -> Any:
    """aiosmtpd's synchronous authenticator hook: hand the decoded login back unchecked, so
    SmtpSession can check it off the event loop (it needs the database)."""
    return AuthResult(success=False, handled=False, auth_data=args[-1])


class SmtpSession(SMTP):
    """One client connection."""

    def __init__(self, state: ServerState, *, implicit_tls: bool) -> None:
        config = state.config
        super().__init__(
            state.handler,
            hostname=config.server_name,
            ident=replies.BANNER_IDENT,
            data_size_limit=config.max_message_size,
            timeout=config.timeout,
            # STARTTLS is offered on the plain listener only; the implicit-TLS one already is.
            tls_context=None if implicit_tls else state.tls_context,
            require_starttls=not implicit_tls,
            auth_required=True,
            auth_require_tls=True,
            authenticator=_refuse_credentials,
            loop=asyncio.get_running_loop(),
        )
        # aiosmtpd only knows STARTTLS as TLS: on the implicit-TLS listener the session is
        # encrypted already, so AUTH needs no upgrade (set here, not above, where aiosmtpd
        # would warn about AUTH without TLS).
        self._auth_require_tls = not implicit_tls
        self.state = state
        self._counted = False
        self._refused = False
        self._unparsed_address = ""

    # -- connection limits and TLS policy --------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        first = self._original_transport is None and self.transport is None
        if first:
            if self.state.open_connections >= self.state.config.max_connections:
                self._refused = True
                transport.write(replies.TOO_MANY_CONNECTIONS.encode() + b"\r\n")  # type: ignore[attr-defined]
                transport.close()
                return
            self.state.open_connections += 1
            self.state.sessions.add(self)
            self._counted = True
            peer = transport.get_extra_info("peername")
            if self.state.config.allow_plaintext_on_loopback and is_loopback(peer):
                self.require_starttls = False
                self._auth_require_tls = False
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        if self._counted:
            self.state.open_connections -= 1
            self.state.sessions.discard(self)
            self._counted = False
        if not self._refused:
            super().connection_lost(error)

    def _timeout_cb(self) -> None:
        if self.transport is not None:
            self.transport.write(replies.TIMEOUT.encode() + b"\r\n")  # type: ignore[attr-defined]
        super()._timeout_cb()

    async def smtp_DATA(self, arg: str) -> None:
        self._reset_timeout(max(DATA_TIMEOUT, self._timeout_duration))
        await super().smtp_DATA(arg)

    async def push(self, status: Any) -> None:
        if status == replies.AIOSMTPD_MALFORMED_ADDRESS:
            status = replies.invalid_address(self._unparsed_address)
        await super().push(replies.rewrite(status) if isinstance(status, str) else status)

    # -- MAIL FROM and RCPT TO ---------------------------------------------------------------------
    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        """aiosmtpd's parse of a MAIL FROM or RCPT TO argument; what it cannot parse is kept
        so that the 553 it answers names the address (SES's wording, replies.invalid_address).
        """
        plain = plain_path(arg)
        if plain is not None:
            local, domain, after = plain
            if not self.local_part_limit or len(local) <= self.local_part_limit:
                return f"{local}@{domain}", after
        address, rest = super()._getaddr(arg)
        if address is None:
            self._unparsed_address = written_address(arg)
        return address, rest

    # -- AUTH PLAIN and LOGIN (aiosmtpd decodes, sesconsole checks) ------------------------------
    async def auth_PLAIN(self, _: Any, args: list[str]) -> AuthResult:
        return await self._check(await super().auth_PLAIN(_, args))

    async def auth_LOGIN(self, _: Any, args: list[str]) -> AuthResult:
        return await self._check(await super().auth_LOGIN(_, args))

    async def _check(self, decoded: AuthResult) -> AuthResult:
        credentials = decoded.auth_data
        if not isinstance(credentials, LoginPassword):
            return decoded  # malformed or aborted: aiosmtpd has answered, or answers 535
        username = credentials.login.decode("utf-8", errors="replace")
        password = credentials.password.decode("utf-8", errors="replace")
        peer = self.session.peer if self.session is not None else None
        address = str(peer[0]) if peer else "unknown"
        try:
            login: SmtpLogin = await self.state.run(authenticate, username, password, address)
        except LoginRefused as refused:
            log.info("SMTP login refused from %s: %s", address, refused.message)
            if refused.temporary:
                message = replies.AUTH_LIMITED.format(message=refused.message)
            else:
                message = replies.AUTH_INVALID
            return AuthResult(success=False, handled=False, message=message)
        except (OperationalError, InterfaceError) as exc:
            log.warning("SMTP login from %s not checked, database unavailable: %s", address, exc)
            return AuthResult(success=False, handled=False, message=replies.AUTH_TEMPORARY)
        except Exception:
            log.exception("SMTP login from %s could not be checked", address)
            return AuthResult(success=False, handled=False, message=replies.AUTH_TEMPORARY)
        log.info(
            "SMTP login from %s with %s in %s", address, login.access_key_id, login.region.code
        )
        return AuthResult(success=True, auth_data=login, message=replies.AUTH_SUCCESS)


class SmtpServer:
    """The listeners of one process. `serve_forever()` for the command; `start()`/`stop()`
    run it on a background thread (tests, benchmarks)."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.loop: asyncio.AbstractEventLoop | None = None
        self.servers: list[asyncio.base_events.Server] = []
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stopped: asyncio.Event | None = None
        self._error: BaseException | None = None

    async def _listen(self) -> None:
        # aiosmtpd logs command lines (envelopes) at INFO and warns about the deprecated
        # login_data it sets itself on every AUTH: only its errors are worth a log line.
        logging.getLogger("mail.log").setLevel(logging.ERROR)
        context = tls.server_context()
        executor = ThreadPoolExecutor(
            max_workers=self.config.worker_threads, thread_name_prefix="smtp-db"
        )
        state = ServerState(self.config, context, executor)
        loop = asyncio.get_running_loop()
        self.servers.append(
            await loop.create_server(
                lambda: SmtpSession(state, implicit_tls=False), self.config.host, self.config.port
            )
        )
        if self.config.tls_port:
            self.servers.append(
                await loop.create_server(
                    lambda: SmtpSession(state, implicit_tls=True),
                    self.config.host,
                    self.config.tls_port,
                    ssl=context,
                    # Counted against SMTP_MAX_CONNECTIONS only once the handshake is done:
                    # a client that never finishes it is dropped after the idle timeout.
                    ssl_handshake_timeout=self.config.timeout,
                )
            )
        self.state = state

    async def _main(self) -> None:
        self._stopped = asyncio.Event()
        try:
            await self._listen()
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            raise
        for server in self.servers:
            log.info("SMTP server listening on %s", server.sockets[0].getsockname()[:2])
        self._ready.set()
        try:
            await self._stopped.wait()
        finally:
            for server in self.servers:
                server.close()
            for session in list(self.state.sessions):
                if session.transport is not None:
                    session.transport.close()
            for server in self.servers:
                await server.wait_closed()
            await asyncio.sleep(0)  # let the closed sessions' tasks finish
            self.state.executor.shutdown(wait=True)

    def serve_forever(self) -> None:
        """Run until SIGTERM or SIGINT; open sessions are closed, running sends finish."""

        async def main() -> None:
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, self._stop_soon)
            await self._main()

        asyncio.run(main())

    def _stop_soon(self) -> None:
        if self._stopped is not None:
            self._stopped.set()

    def start(self) -> SmtpServer:
        def run() -> None:
            self.loop = asyncio.new_event_loop()
            try:
                self.loop.run_until_complete(self._main())
            except BaseException:
                log.exception("SMTP server stopped with an error")
            finally:
                self.loop.close()

        self._thread = threading.Thread(target=run, name="smtp-server", daemon=True)
        self._thread.start()
        self._ready.wait(timeout=30)
        if self._error is not None:
            raise self._error
        return self

    def stop(self) -> None:
        if self.loop is not None and self._stopped is not None and self._thread is not None:
            self.loop.call_soon_threadsafe(self._stopped.set)
            self._thread.join(timeout=30)
            self._thread = None

    @property
    def ports(self) -> list[int]:
        return [int(server.sockets[0].getsockname()[1]) for server in self.servers]
