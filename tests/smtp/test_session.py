"""The SMTP server's session rules against the real server on loopback, with smtplib:
TLS before AUTH, AUTH before mail (no open relay), SES's reply texts, limits."""

from __future__ import annotations

import base64
import logging
import smtplib
import socket
import ssl
import time
from collections.abc import Callable

import pytest

from smtp.server import SmtpServer, is_loopback
from tests.smtp.conftest import SmtpCredentials

Connect = Callable[..., smtplib.SMTP]


def auth(client: smtplib.SMTP, mechanism: str, credentials: SmtpCredentials) -> tuple[int, bytes]:
    """AUTH with the one mechanism named (smtplib's login() picks one itself)."""
    client.user, client.password = credentials.username, credentials.password
    authobject = client.auth_plain if mechanism == "PLAIN" else client.auth_login
    return client.auth(mechanism, authobject)


def test_banner_and_ehlo_before_tls_offer_starttls_not_auth(smtp_server: SmtpServer) -> None:
    client = smtplib.SMTP("127.0.0.1", smtp_server.config.port, timeout=10)
    try:
        code, banner = client.ehlo("client.example")
        # smtplib reads the last line, "250 Ok", as a feature named "ok".
        assert (code, sorted(client.esmtp_features)) == (
            250,
            ["8bitmime", "ok", "size", "starttls"],
        )
        assert client.esmtp_features["size"] == str(40 * 1024 * 1024)
        assert banner.splitlines()[-1] == b"Ok"
    finally:
        client.close()


def test_ehlo_after_starttls_offers_auth_plain_and_login(connect: Connect) -> None:
    client = connect()
    assert client.esmtp_features["auth"].split() == ["LOGIN", "PLAIN"]
    assert "starttls" not in client.esmtp_features


def test_banner_names_the_server(smtp_server: SmtpServer) -> None:
    with socket.create_connection(("127.0.0.1", smtp_server.config.port), timeout=10) as sock:
        banner = sock.makefile("rb").readline()
    assert banner == b"220 localhost ESMTP SimpleEmailService-sesconsole\r\n"


def test_auth_before_starttls_is_refused(connect: Connect, credentials: SmtpCredentials) -> None:
    client = connect(starttls=False)
    plain = base64.b64encode(f"\0{credentials.username}\0{credentials.password}".encode())
    assert client.docmd("AUTH", "PLAIN " + plain.decode()) == (
        530,
        b"Must issue a STARTTLS command first",
    )


def test_mail_before_starttls_is_refused(connect: Connect) -> None:
    client = connect(starttls=False)
    assert client.mail("sender@example.com") == (530, b"Must issue a STARTTLS command first")


def test_mail_without_auth_is_refused_no_open_relay(connect: Connect) -> None:
    client = connect()
    assert client.mail("sender@example.com") == (530, b"Authentication required")
    assert client.rcpt("victim@example.net") == (530, b"Authentication required")


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_auth_with_smtp_credentials_succeeds(
    connect: Connect, credentials: SmtpCredentials, mechanism: str
) -> None:
    client = connect()
    assert auth(client, mechanism, credentials) == (235, b"Authentication successful")


def test_auth_with_a_wrong_password_answers_535(
    connect: Connect, credentials: SmtpCredentials
) -> None:
    client = connect()
    with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
        client.login(credentials.username, credentials.password[:-2] + "AA")
    assert (refused.value.smtp_code, refused.value.smtp_error) == (
        535,
        b"Authentication Credentials Invalid",
    )


def test_auth_with_the_api_secret_instead_of_the_smtp_password_fails(
    connect: Connect, credentials: SmtpCredentials
) -> None:
    client = connect()
    with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
        client.login(credentials.username, credentials.secret)
    assert refused.value.smtp_code == 535


def test_auth_with_another_mechanism_answers_504(connect: Connect) -> None:
    client = connect()
    assert client.docmd("AUTH", "CRAM-MD5") == (504, b"Unrecognized authentication type")


def test_implicit_tls_port_offers_auth_at_once(
    connect: Connect, credentials: SmtpCredentials
) -> None:
    client = connect(implicit=True)
    assert "starttls" not in client.esmtp_features
    assert client.login(credentials.username, credentials.password) == (
        235,
        b"Authentication successful",
    )


def test_plaintext_auth_on_loopback_when_allowed(
    start_server: Callable[..., SmtpServer], connect: Connect, credentials: SmtpCredentials
) -> None:
    server = start_server(allow_plaintext_on_loopback=True)
    client = connect(starttls=False, server=server)
    assert client.login(credentials.username, credentials.password)[0] == 235


def test_brute_force_is_stopped_per_client_address(
    connect: Connect, credentials: SmtpCredentials
) -> None:
    client = connect()
    for attempt in range(10):
        with pytest.raises(smtplib.SMTPAuthenticationError):
            client.login(f"AKIAGUESS{attempt:011d}", "B" + "A" * 43)
    with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
        client.login(credentials.username, credentials.password)
    assert refused.value.smtp_code == 454
    assert refused.value.smtp_error.startswith(
        b"Temporary authentication failure: Too many failed SMTP logins from this address; "
        b"try again in "
    )


def test_malformed_address_is_refused(connect: Connect, credentials: SmtpCredentials) -> None:
    client = connect()
    client.login(credentials.username, credentials.password)
    assert client.docmd("MAIL", "FROM:<a@b@c>") == (553, b"a@b@c Invalid email address")


@pytest.mark.parametrize(
    ("peer", "loopback"),
    [(("127.0.0.1", 1), True), (("127.8.9.10", 1), True), (("::1", 1, 0, 0), True),
     (("10.0.0.1", 1), False), (("192.0.2.1", 1), False), (None, False)],
)  # fmt: skip
def test_only_loopback_peers_may_use_plaintext_auth(peer: object, loopback: bool) -> None:
    assert is_loopback(peer) is loopback


def test_null_reverse_path_is_refused(connect: Connect, credentials: SmtpCredentials) -> None:
    client = connect()
    client.login(credentials.username, credentials.password)
    assert client.docmd("MAIL", "FROM:<>") == (501, b"Invalid MAIL FROM address provided")


@pytest.fixture
def small_limit_client(
    start_server: Callable[..., SmtpServer], connect: Connect, credentials: SmtpCredentials
) -> smtplib.SMTP:
    """Logged in to a server that takes messages of 1,000 bytes at most."""
    client = connect(server=start_server(max_message_size=1000))
    client.login(credentials.username, credentials.password)
    return client


def test_declared_size_over_the_limit_is_refused(small_limit_client: smtplib.SMTP) -> None:
    client = small_limit_client
    assert client.docmd("MAIL", "FROM:<sender@example.com> SIZE=5000") == (
        552,
        b"Message is too long.",
    )


def test_message_over_the_limit_is_refused_after_data(small_limit_client: smtplib.SMTP) -> None:
    client = small_limit_client
    body = b"Subject: big\r\n\r\n" + b"x" * 70 + (b"\r\n" + b"x" * 70) * 30
    client.mail("sender@example.com")  # without SIZE=, so the server finds out while reading
    client.rcpt("to@example.com")
    assert client.data(body) == (552, b"Message is too long.")


def test_connections_over_the_limit_are_told_and_closed(
    start_server: Callable[..., SmtpServer], connect: Connect
) -> None:
    server = start_server(max_connections=2)
    connect(server=server, starttls=False)
    connect(server=server, starttls=False)
    with socket.create_connection(("127.0.0.1", server.config.port), timeout=10) as sock:
        reply = sock.makefile("rb").read()
    assert reply == b"421 Too many concurrent SMTP connections\r\n"


def test_a_closed_connection_frees_its_place(
    start_server: Callable[..., SmtpServer], connect: Connect
) -> None:
    server = start_server(max_connections=1)
    first = connect(server=server, starttls=False)
    first.quit()
    deadline = time.monotonic() + 5
    while server.state.open_connections and time.monotonic() < deadline:
        time.sleep(0.01)
    assert connect(server=server, starttls=False).noop()[0] == 250


def test_idle_session_is_closed_with_451(start_server: Callable[..., SmtpServer]) -> None:
    server = start_server(timeout=0.5)
    with socket.create_connection(("127.0.0.1", server.config.port), timeout=10) as sock:
        reply = sock.makefile("rb").read()
    assert reply.splitlines()[-1] == b"451 Timeout waiting for data from client"


def test_starttls_presents_a_certificate_the_client_can_check(
    smtp_server: SmtpServer, client_tls: ssl.SSLContext
) -> None:
    client = smtplib.SMTP("localhost", smtp_server.config.port, timeout=10)
    try:
        client.starttls(context=client_tls)
        sock = client.sock
        assert isinstance(sock, ssl.SSLSocket)
        assert sock.version() in {"TLSv1.2", "TLSv1.3"}
    finally:
        client.close()


def test_logs_never_show_the_password(
    connect: Connect, credentials: SmtpCredentials, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for mechanism in ("PLAIN", "LOGIN"):
        auth(connect(), mechanism, credentials)
    encoded = base64.b64encode(f"\0{credentials.username}\0{credentials.password}".encode())
    text = caplog.text
    assert (credentials.password in text, encoded.decode() in text) == (False, False)
    assert f"with {credentials.username} in us-east-1" in text


def test_a_tls_handshake_never_finished_is_dropped(
    start_server: Callable[..., SmtpServer],
) -> None:
    server = start_server(timeout=0.5)
    with socket.create_connection(("127.0.0.1", server.config.tls_port), timeout=10) as sock:
        started = time.monotonic()
        assert sock.recv(1) == b""  # closed by the server, no ClientHello ever sent
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    "username",
    [b"AKIA\x00NUL", b"\xff\xfe not utf-8", b"A" * 5000, b"line\r\nbreak"],
    ids=["nul", "not-utf-8", "very-long", "crlf"],
)
def test_odd_auth_login_user_names_are_just_wrong_credentials(
    connect: Connect, username: bytes
) -> None:
    client = connect()
    assert client.docmd("AUTH", "LOGIN " + base64.b64encode(username[:300]).decode())[0] == 334
    assert client.docmd(base64.b64encode(b"B" + b"A" * 43).decode()) == (
        535,
        b"Authentication Credentials Invalid",
    )
