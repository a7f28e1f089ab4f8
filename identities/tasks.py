"""Background jobs for identities. Thin and idempotent: reload, guard, call one function."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import transaction

from .dkim import generate_key_pair
from .models import DkimKey, DkimOrigin, Identity, KeyLength

log = logging.getLogger(__name__)


@shared_task(acks_late=True)
def generate_easy_dkim_keys(*, identity_id: int) -> None:
    """Create the RSA key behind each Easy DKIM token at the requested length."""
    identity = Identity.objects.filter(pk=identity_id).first()
    if identity is None or identity.dkim_origin != DkimOrigin.AWS_SES:
        log.info("identity %s gone or not Easy DKIM; no keys to generate", identity_id)
        return
    bits = KeyLength(identity.dkim_next_key_length).bits
    existing = {key.selector: key.key_size for key in identity.dkim_keys.all()}
    missing = [token for token in identity.dkim_tokens if existing.get(token) != bits]
    if not missing:
        return
    pairs = {token: generate_key_pair(bits) for token in missing}  # outside the transaction
    with transaction.atomic():
        identity.dkim_keys.exclude(selector__in=identity.dkim_tokens).delete()
        identity.dkim_keys.filter(selector__in=missing).delete()
        for token, pair in pairs.items():
            DkimKey.store(identity, token, pair.private_key_base64, pair.public_key_base64, bits)
        identity.record_easy_dkim_keys(identity.dkim_next_key_length)
    log.info("identity %s: generated %d Easy DKIM keys (%d bits)", identity_id, len(missing), bits)
