"""The SMTP server's TLS: its certificate (the operator's, or a self-signed pair made once in
VAR_DIR for the embedded mode) and the SSL context for STARTTLS and the implicit-TLS port."""

from __future__ import annotations

import datetime
import ipaddress
import logging
import os
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

log = logging.getLogger(__name__)

SELF_SIGNED_CERT = "smtp-tls-cert.pem"
SELF_SIGNED_KEY = "smtp-tls-key.pem"
SELF_SIGNED_DAYS = 825


def certificate_files() -> tuple[Path, Path]:
    """The certificate and key paths: the settings', or the self-signed pair in VAR_DIR,
    created on first use."""
    cert, key = settings.SMTP_TLS_CERT_FILE, settings.SMTP_TLS_KEY_FILE
    if cert or key:
        if not (cert and key):
            raise ImproperlyConfigured(
                "Set both SMTP_TLS_CERT_FILE and SMTP_TLS_KEY_FILE, or neither."
            )
        return Path(cert), Path(key)
    var_dir = Path(settings.VAR_DIR)
    cert_path, key_path = var_dir / SELF_SIGNED_CERT, var_dir / SELF_SIGNED_KEY
    if not (cert_path.exists() and key_path.exists()):
        write_self_signed(cert_path, key_path, settings.SMTP_SERVER_NAME)
        log.info(
            "created a self-signed SMTP certificate for %s in %s",
            settings.SMTP_SERVER_NAME,
            cert_path,
        )
    return cert_path, key_path


def write_self_signed(cert_path: Path, key_path: Path, server_name: str) -> None:
    """A P-256 key and a certificate for `server_name`, localhost and the loopback addresses."""
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [
        x509.DNSName(name) for name in dict.fromkeys([server_name, "localhost"])
    ]
    names += [x509.IPAddress(ipaddress.ip_address(a)) for a in ("127.0.0.1", "::1")]
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, server_name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=SELF_SIGNED_DAYS))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_bytes = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # The key is readable by its owner only; written before the certificate so a crash between
    # the two leaves no certificate without its key.
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key_bytes)
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))


def server_context() -> ssl.SSLContext:
    """TLS 1.2 or newer, no client certificates (clients authenticate with AUTH)."""
    cert, key = certificate_files()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise ImproperlyConfigured(
            f"Cannot load the SMTP TLS certificate {cert} and key {key}: {exc}"
        ) from exc
    return context
