"""DEED replicas (models/replica.py): finding a replica's parent, and keeping replicas in step.

`parent_for` decides, when a replica is created, which identity it follows or which
REPLICATION_* error it fails with (v2 VerificationInfo.ErrorType). `follow` copies a parent's
DKIM setup and status to its replicas; every change to a parent's DKIM calls it (the
operations, the DNS check, key generation), and deleting a parent fails its replicas with
REPLICATION_PRIMARY_NOT_FOUND.

Choices where the spec says UNVERIFIED (ses-v1-api.md §6), made here:
- the errors are verification failures of a created identity (the model's asynchronous form),
  never refusals of CreateEmailIdentity;
- sesconsole has no IAM, so REPLICATION_ACCESS_DENIED never occurs: an account may replicate
  its own identities;
- a replica reports its own region's SigningHostedZone;
- replicas follow their parent's key changes; a parent that switches to BYODKIM fails them
  with REPLICATION_PRIMARY_BYO_DKIM_NOT_SUPPORTED (and they follow again if it switches back);
- a replica given its own DKIM (PutEmailIdentityDkimSigningAttributes) stops following.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

from django.utils import timezone

from accounts.models import Account, Region

from .models import Identity, VerificationError
from .models.replica import REPLICA_ORIGIN_PREFIX


def origin_region(origin: str) -> str:
    """`AWS_SES_US_EAST_1` -> `us-east-1`."""
    return origin.removeprefix(REPLICA_ORIGIN_PREFIX).lower().replace("_", "-")


def parent_for(
    account: Account, region: Region, name: str, origin: str
) -> tuple[Identity | None, str]:
    """(the parent identity, "") or (parent or None, the REPLICATION_* error type)."""
    parent_region = origin_region(origin)
    if (
        parent_region == region.code
        or not Region.objects.filter(code=parent_region, enabled=True).exists()
    ):
        return None, VerificationError.REPLICATION_PRIMARY_INVALID_REGION
    parent = Identity.objects.in_scope(account, parent_region).filter(name=name).first()
    if parent is None or not parent.is_domain:
        return None, VerificationError.REPLICATION_PRIMARY_NOT_FOUND
    return parent, problem_with(parent)


def problem_with(parent: Identity) -> str:
    if parent.is_replica:
        return VerificationError.REPLICATION_REPLICA_AS_PRIMARY_NOT_SUPPORTED
    if parent.uses_byodkim:
        return VerificationError.REPLICATION_PRIMARY_BYO_DKIM_NOT_SUPPORTED
    return ""


def follow(parent_ids: Iterable[int]) -> int:
    """Bring the replicas of these identities in step with them; how many were updated."""
    replicas = list(
        Identity.objects.filter(dkim_parent_id__in=list(parent_ids)).select_related("dkim_parent")
    )
    now = timezone.now()
    for replica in replicas:
        parent = cast(Identity, replica.dkim_parent)  # the FK is declared on an abstract base
        replica.follow_parent(parent, problem_with(parent), now)
        replica.save(update_fields=list(replica.FOLLOW_FIELDS))
    return len(replicas)


def orphan(replica_ids: Iterable[int]) -> None:
    """Replicas whose parent was deleted: DKIM FAILED, REPLICATION_PRIMARY_NOT_FOUND."""
    now = timezone.now()
    for replica in Identity.objects.filter(pk__in=list(replica_ids)):
        replica.follow_parent(None, VerificationError.REPLICATION_PRIMARY_NOT_FOUND, now)
        replica.save(update_fields=list(replica.FOLLOW_FIELDS))
