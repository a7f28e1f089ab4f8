"""Secrets at rest: Fernet encryption of private keys, access-key secrets and TSIG secrets.

The keys come from settings.SECRETS_ENCRYPTION_KEYS (first one encrypts, all decrypt, so a
deployment can rotate). Without them a key is derived from SECRET_KEY: good enough for the
embedded mode, and `manage.py check --deploy` warns about it.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def _fernet() -> MultiFernet:
    return _fernet_for(tuple(settings.SECRETS_ENCRYPTION_KEYS), settings.SECRET_KEY)


# Keyed on the settings it is built from, so a changed setting (tests) gets its own; every API
# call decrypts its access key's secret, and building the ciphers each time cost a third of it.
@lru_cache(maxsize=8)
def _fernet_for(configured: tuple[str, ...], secret_key: str) -> MultiFernet:
    keys = list(configured)
    if not keys:
        digest = hashlib.sha256(b"sesconsole-secrets:" + secret_key.encode()).digest()
        keys = [base64.urlsafe_b64encode(digest).decode()]
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "SECRETS_ENCRYPTION_KEYS must hold Fernet keys: 32 url-safe base64-encoded bytes "
            "each (python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())')."
        ) from exc


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "A stored secret cannot be decrypted with SECRETS_ENCRYPTION_KEYS: the key that "
            "encrypted it is missing from the list."
        ) from exc
