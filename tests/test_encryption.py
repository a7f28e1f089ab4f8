"""Secrets at rest: private keys, access-key secrets and TSIG secrets are Fernet-encrypted."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from pytest_django import Settings

from accounts.models import AccessKey, Account
from identities.models import DkimKey, DnsServer, Identity
from identities.provisioning import Byodkim
from sesconsole import encryption
from sesconsole.validators import parse_byodkim_private_key
from tests.support import keys

pytestmark = pytest.mark.django_db

WRONG_KEY_MESSAGE = (
    "A stored secret cannot be decrypted with SECRETS_ENCRYPTION_KEYS: the key that encrypted "
    "it is missing from the list."
)


def raw_column(table: str, column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])
        [value] = cursor.fetchone()
    return value


def test_byodkim_private_key_stored_encrypted(make_domain: Callable[..., Identity]) -> None:
    parsed = parse_byodkim_private_key(keys.pem(keys.rsa_key(2048)))
    identity = make_domain("example.com", dkim=Byodkim(selector="sel", key=parsed))
    key = identity.dkim_keys.get()
    stored = raw_column("identities_dkimkey", "private_key_encrypted", key.pk)
    assert stored != parsed.base64_der
    assert parsed.base64_der[100:160] not in stored
    assert DkimKey.objects.get(pk=key.pk).private_key_base64() == parsed.base64_der


def test_access_key_secret_stored_encrypted(account: Account) -> None:
    key, secret = AccessKey.issue(account)
    stored = raw_column("accounts_accesskey", "secret_encrypted", key.pk)
    assert secret not in stored
    assert AccessKey.objects.get(pk=key.pk).secret() == secret


def test_tsig_secret_stored_encrypted(account: Account) -> None:
    server = DnsServer(account=account, zone="example.com", server="127.0.0.1", key_name="k")
    server.set_secret("c2VjcmV0LXRzaWcta2V5LWJ5dGVz")
    server.save()
    stored = raw_column("identities_dnsserver", "key_secret_encrypted", server.pk)
    assert "c2VjcmV0LXRzaWcta2V5LWJ5dGVz" not in stored
    assert DnsServer.objects.get(pk=server.pk).secret() == "c2VjcmV0LXRzaWcta2V5LWJ5dGVz"


def test_encrypt_round_trip_with_derived_key(settings: Settings) -> None:
    settings.SECRETS_ENCRYPTION_KEYS = []
    token = encryption.encrypt("plain text ✓")
    assert token != "plain text ✓"
    assert encryption.decrypt(token) == "plain text ✓"


def test_encrypt_is_randomised() -> None:
    assert encryption.encrypt("same") != encryption.encrypt("same")


def test_decrypt_after_rotation(settings: Settings) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.SECRETS_ENCRYPTION_KEYS = [old]
    old_token = encryption.encrypt("old secret")
    settings.SECRETS_ENCRYPTION_KEYS = [new, old]
    assert encryption.decrypt(old_token) == "old secret"
    new_token = encryption.encrypt("new secret")
    settings.SECRETS_ENCRYPTION_KEYS = [new]
    assert encryption.decrypt(new_token) == "new secret"


def test_decrypt_with_wrong_key_raises(settings: Settings) -> None:
    settings.SECRETS_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    token = encryption.encrypt("secret")
    settings.SECRETS_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(ImproperlyConfigured) as info:
        encryption.decrypt(token)
    assert str(info.value) == WRONG_KEY_MESSAGE


def test_decrypt_after_secret_key_change_raises(settings: Settings) -> None:
    settings.SECRETS_ENCRYPTION_KEYS = []
    token = encryption.encrypt("secret")
    settings.SECRET_KEY = "another-secret-key"
    with pytest.raises(ImproperlyConfigured) as info:
        encryption.decrypt(token)
    assert str(info.value) == WRONG_KEY_MESSAGE


def test_malformed_key_raises(settings: Settings) -> None:
    settings.SECRETS_ENCRYPTION_KEYS = ["not-a-fernet-key"]
    with pytest.raises(ImproperlyConfigured) as info:
        encryption.encrypt("secret")
    assert str(info.value) == (
        "SECRETS_ENCRYPTION_KEYS must hold Fernet keys: 32 url-safe base64-encoded bytes each "
        "(python -c 'from cryptography.fernet import Fernet; "
        "print(Fernet.generate_key().decode())')."
    )
