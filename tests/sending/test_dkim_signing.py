"""DKIM signing with OpenSSL's RSA (sending.dkim_signing) gives dkimpy's own bytes, verifies, and
parses each key once per process."""

from __future__ import annotations

import dkim
import pytest
import time_machine

from identities.dkim import generate_key_pair
from sending import dkim_signing
from verification.mailer import DkimSigner

MESSAGE = (
    b"From: Sender <sender@example.com>\r\nTo: someone@elsewhere.test\r\n"
    b"Subject: Hello\r\nMessage-ID: <abc@email.amazonses.com>\r\nMIME-Version: 1.0\r\n"
    b"Content-Type: text/plain\r\n\r\nHi there.\r\n  Two  spaces.\r\n"
)


def signer(bits: int) -> tuple[DkimSigner, str]:
    pair = generate_key_pair(bits)
    pem = (
        f"-----BEGIN PRIVATE KEY-----\n{pair.private_key_base64}\n-----END PRIVATE KEY-----\n"
    ).encode()
    return DkimSigner("example.com", "sel1", pem), pair.public_key_base64


def dkimpy_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """dkimpy as released: its own key parser and pure-Python RSA."""
    monkeypatch.setattr(dkim, dkim_signing.PARSER, dkim_signing.DKIMPY_PARSER)
    monkeypatch.setattr(dkim, dkim_signing.RSA_SIGN, dkim_signing.DKIMPY_RSA_SIGN)


@pytest.mark.parametrize("bits", [1024, 2048])
def test_signature_is_byte_for_byte_dkimpys(bits: int, monkeypatch: pytest.MonkeyPatch) -> None:
    key, _ = signer(bits)
    with time_machine.travel("2026-12-07 10:00:00+00:00", tick=False):
        ours = dkim_signing.dkim_signature(MESSAGE, key)
        with monkeypatch.context() as patch:
            dkimpy_alone(patch)
            theirs = bytes(
                dkim.sign(
                    MESSAGE, b"sel1", b"example.com", key.private_key_pem,
                    canonicalize=(b"relaxed", b"relaxed"),
                )
            )  # fmt: skip
    assert ours == theirs
    assert ours.startswith(b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com;")


def test_signature_verifies_with_dkimpy() -> None:
    key, public = signer(2048)
    signed = dkim_signing.dkim_signature(MESSAGE, key) + MESSAGE

    def dnsfunc(name: bytes, timeout: int = 5) -> bytes:
        assert name == b"sel1._domainkey.example.com."
        return f"v=DKIM1; k=rsa; p={public}".encode()

    assert dkim.verify(signed, dnsfunc=dnsfunc)
    assert not dkim.verify(signed.replace(b"Two  spaces", b"Three spaces"), dnsfunc=dnsfunc)


def test_each_key_is_parsed_once_per_process() -> None:
    first, _ = signer(1024)
    second, _ = signer(1024)
    parses = dkim_signing._parsed_key.cache_info().misses
    for _ in range(3):
        dkim_signing.dkim_signature(MESSAGE, first)
        dkim_signing.dkim_signature(MESSAGE, second)
    assert dkim_signing._parsed_key.cache_info().misses - parses == 2
    assert getattr(dkim, dkim_signing.RSA_SIGN) is dkim_signing._openssl_sign
