"""System checks for a production deployment (`manage.py check --deploy`)."""

from __future__ import annotations

from typing import Any

from cryptography.fernet import Fernet
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register

W001 = Warning(
    "SECRETS_ENCRYPTION_KEYS is empty, so private keys and secrets at rest are encrypted "
    "with a key derived from SECRET_KEY: changing SECRET_KEY would make them unreadable.",
    hint="Set SECRETS_ENCRYPTION_KEYS to a Fernet key (python -c 'from cryptography.fernet "
    "import Fernet; print(Fernet.generate_key().decode())') and keep it safe.",
    id="sesconsole.W001",
)
W002 = Warning(
    "SECRET_KEY is sesconsole's development default, which everyone can read.",
    hint="Set SECRET_KEY to 50 or more random characters (python -c 'import secrets; "
    "print(secrets.token_urlsafe(50))').",
    id="sesconsole.W002",
)


@register(Tags.security, deploy=True)
def check_production_secrets(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    found: list[CheckMessage] = []
    if not settings.SECRETS_ENCRYPTION_KEYS:
        found.append(W001)
    if settings.SECRET_KEY == settings.DEVELOPMENT_SECRET_KEY:
        found.append(W002)
    return found


@register(Tags.security)
def check_encryption_keys(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """A malformed key would only surface at the first encryption: say so at start-up."""
    found: list[CheckMessage] = []
    for position, key in enumerate(settings.SECRETS_ENCRYPTION_KEYS, start=1):
        try:
            Fernet(key)
        except ValueError:
            found.append(
                Error(
                    f"Key {position} of SECRETS_ENCRYPTION_KEYS is not a Fernet key "
                    "(32 url-safe base64-encoded bytes).",
                    id="sesconsole.E001",
                )
            )
    return found
