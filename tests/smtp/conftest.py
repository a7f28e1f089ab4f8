"""The SMTP server started on loopback ports for a test, with an access key and TLS clients.

The server runs in this process on its own thread and event loop; its database work runs on
its own threads, so tests use `transactional_db` (rows a test creates must be committed for
those threads to see them).
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from accounts.models import AccessKey, Account, Region
from accounts.regions import SES_REGIONS
from smtp import tls
from smtp.credentials import smtp_password
from smtp.server import ServerConfig, SmtpServer
from tests.support.knot import free_port
from tests.support.sending_fixtures import (  # noqa: F401 (fixtures)
    production,
    verified_domain,
    verified_email,
)

HOST = "127.0.0.1"


@dataclass(frozen=True)
class SmtpCredentials:
    username: str
    password: str
    secret: str


@pytest.fixture(autouse=True)
def _regions(transactional_db: None) -> None:
    Region.objects.bulk_create(
        [Region(code=code, name=name, dkim_signing_zone=zone) for code, name, zone in SES_REGIONS],
        ignore_conflicts=True,
    )


@pytest.fixture
def credentials(account: Account) -> SmtpCredentials:
    key, secret = AccessKey.issue(account, description="SMTP tests")
    return SmtpCredentials(key.access_key_id, smtp_password(secret, "us-east-1"), secret)


@pytest.fixture
def login(connect: Callable[..., smtplib.SMTP], credentials: SmtpCredentials) -> smtplib.SMTP:
    """An smtplib client over STARTTLS, logged in with the account's us-east-1 credentials."""
    client = connect()
    client.login(credentials.username, credentials.password)
    return client


@pytest.fixture
def client_tls() -> ssl.SSLContext:
    """A client context that trusts only the server's self-signed certificate, and checks it."""
    cert, _key = tls.certificate_files()
    return ssl.create_default_context(cafile=str(cert))


@pytest.fixture
def start_server() -> Iterator[Callable[..., SmtpServer]]:
    started: list[SmtpServer] = []

    def start(**overrides: Any) -> SmtpServer:
        values: dict[str, Any] = {
            "host": HOST,
            "port": free_port(),
            "tls_port": free_port(),
            "server_name": "localhost",
            "max_message_size": 40 * 1024 * 1024,
            "timeout": 10.0,
            "max_connections": 20,
            "worker_threads": 4,
            "allow_plaintext_on_loopback": False,
            **overrides,
        }
        server = SmtpServer(ServerConfig(**values)).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def smtp_server(start_server: Callable[..., SmtpServer]) -> SmtpServer:
    return start_server()


@pytest.fixture
def connect(
    smtp_server: SmtpServer, client_tls: ssl.SSLContext
) -> Iterator[Callable[..., smtplib.SMTP]]:
    """`connect()`: an smtplib client on the STARTTLS port, EHLO done and upgraded to TLS
    unless `starttls=False`; `connect(implicit=True)` for the implicit-TLS port;
    `connect(source="127.0.0.2")` connects from another loopback address."""
    opened: list[smtplib.SMTP] = []

    def open_client(
        *,
        starttls: bool = True,
        implicit: bool = False,
        server: SmtpServer | None = None,
        source: str | None = None,
    ) -> smtplib.SMTP:
        target = server or smtp_server
        source_address = (source, 0) if source else None
        client: smtplib.SMTP
        if implicit:
            client = smtplib.SMTP_SSL(
                "localhost",
                target.config.tls_port,
                context=client_tls,
                timeout=10,
                source_address=source_address,
            )
        else:
            client = smtplib.SMTP(
                "localhost", target.config.port, timeout=10, source_address=source_address
            )
        opened.append(client)
        client.ehlo("client.example")
        if starttls and not implicit:
            client.starttls(context=client_tls)
            client.ehlo("client.example")
        return client

    yield open_client
    for client in opened:
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()
