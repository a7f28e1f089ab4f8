"""api.reads: its hand-written SELECTs give the same objects the ORM gives."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db.models import Model

from accounts.models import AccessKey, Account, Region
from api import reads
from api.identities import get_email_identity
from api.wire import Call
from identities.models import Identity, IdentityPolicy, Tag


def field_values(instance: Model, names: Sequence[str] | None = None) -> dict[str, Any]:
    fields = (
        instance._meta.concrete_fields
        if names is None
        else [instance._meta.get_field(name) for name in names]
    )
    return {field.attname: getattr(instance, field.attname) for field in fields}


def test_signer_loads_the_key_its_account_and_the_region(account: Account, region: Region) -> None:
    key, _ = AccessKey.issue(account, description="reads")
    key.touch()

    found = reads.signer(key.access_key_id, region.code)

    assert found is not None
    assert field_values(found.key, reads.SIGNER_KEY_FIELDS) == field_values(
        AccessKey.objects.get(pk=key.pk), reads.SIGNER_KEY_FIELDS
    )
    assert field_values(found.key.account, reads.SIGNER_ACCOUNT_FIELDS) == field_values(
        account, reads.SIGNER_ACCOUNT_FIELDS
    )
    assert found.key.created_at == key.created_at  # a deferred field still loads
    assert found.region is not None
    assert field_values(found.region) == field_values(Region.objects.get(pk=region.pk))


def test_signer_finds_no_inactive_or_unknown_key(account: Account, region: Region) -> None:
    key, _ = AccessKey.issue(account)
    key.deactivate()

    assert reads.signer(key.access_key_id, region.code) is None
    assert reads.signer("AKIANOSUCHKEY0000000", region.code) is None


def test_signer_has_no_region_when_it_is_disabled_or_unknown(
    account: Account, region: Region
) -> None:
    key, _ = AccessKey.issue(account)
    Region.objects.filter(pk=region.pk).update(enabled=False)

    disabled = reads.signer(key.access_key_id, region.code)
    unknown = reads.signer(key.access_key_id, "xx-nowhere-1")

    assert disabled is not None
    assert disabled.region is None
    assert unknown is not None
    assert unknown.region is None


def test_identity_detail_matches_the_orm_with_tags_and_policies_in_order(
    account: Account, region: Region, make_domain: Callable[..., Identity]
) -> None:
    identity = make_domain("reads.example.com")
    Tag.objects.create(identity=identity, key="zeta", value="last")
    Tag.objects.create(identity=identity, key="alpha", value="")
    IdentityPolicy.objects.create(identity=identity, name="send-b", document='{"b": 1}')
    IdentityPolicy.objects.create(identity=identity, name="send-a", document='{"a": "é"}')

    detail = reads.identity_detail(account, region, "reads.example.com")

    assert detail is not None
    loaded = Identity.objects.only(*reads.DETAIL_FIELDS).get(pk=identity.pk)
    assert field_values(detail.identity, reads.DETAIL_FIELDS) == field_values(
        loaded, reads.DETAIL_FIELDS
    )
    assert detail.identity.region == region
    assert detail.tags == [("alpha", ""), ("zeta", "last")]
    assert detail.policies == [("send-a", '{"a": "é"}'), ("send-b", '{"b": 1}')]


def test_identity_detail_without_tags_or_policies(
    account: Account, region: Region, make_email: Callable[..., Identity]
) -> None:
    make_email("sender@reads.example.com")

    detail = reads.identity_detail(account, region, "sender@reads.example.com")

    assert detail is not None
    assert (detail.tags, detail.policies) == ([], [])


def test_identity_detail_is_scoped_to_the_account_and_region(
    account: Account,
    other_account: Account,
    region: Region,
    other_region: Region,
    make_domain: Callable[..., Identity],
) -> None:
    make_domain("scoped.example.com")
    Tag.objects.create(identity=make_domain("scoped.example.com", reg=other_region), key="k")

    assert reads.identity_detail(other_account, region, "scoped.example.com") is None
    other = reads.identity_detail(account, other_region, "scoped.example.com")
    assert other is not None
    assert other.tags == [("k", "")]
    assert reads.identity_detail(account, region, "absent.example.com") is None


def test_signer_with_an_identity_name_reads_what_identity_detail_reads(
    account: Account,
    other_account: Account,
    region: Region,
    make_domain: Callable[..., Identity],
) -> None:
    identity = make_domain("along.example.com")
    Tag.objects.create(identity=identity, key="b", value="2")
    Tag.objects.create(identity=identity, key="a", value="1")
    IdentityPolicy.objects.create(identity=identity, name="p", document="{}")
    key, _ = AccessKey.issue(account)
    outsider, _ = AccessKey.issue(other_account)

    found = reads.signer(key.access_key_id, region.code, "along.example.com")
    missing = reads.signer(key.access_key_id, region.code, "absent.example.com")
    theirs = reads.signer(outsider.access_key_id, region.code, "along.example.com")
    nowhere = reads.signer(key.access_key_id, "xx-nowhere-1", "along.example.com")

    alone = reads.identity_detail(account, region, "along.example.com")
    assert found is not None
    assert found.preloaded is not None
    assert alone is not None
    assert found.preloaded.name == "along.example.com"
    detail = found.preloaded.detail
    assert detail is not None
    assert field_values(detail.identity, reads.DETAIL_FIELDS) == field_values(
        alone.identity, reads.DETAIL_FIELDS
    )
    assert (detail.tags, detail.policies) == (alone.tags, alone.policies)
    assert detail.tags == [("a", "1"), ("b", "2")]
    assert detail.identity.account == account
    assert detail.identity.region == region
    assert field_values(found.key, reads.SIGNER_KEY_FIELDS) == field_values(
        AccessKey.objects.get(pk=key.pk), reads.SIGNER_KEY_FIELDS
    )
    for other in (missing, theirs, nowhere):
        assert other is not None
        assert other.preloaded is not None
        assert other.preloaded.detail is None
    assert reads.signer(key.access_key_id, region.code).preloaded is None  # type: ignore[union-attr]


def test_get_email_identity_answers_from_the_one_detail_query(
    account: Account,
    region: Region,
    make_domain: Callable[..., Identity],
    django_assert_num_queries: Any,
) -> None:
    make_domain("answer.example.com", mail_from_domain="bounce.answer.example.com")
    key, _ = AccessKey.issue(account)
    call = Call(account=account, region=region, access_key=key)

    with django_assert_num_queries(1):  # no deferred field loaded on the way
        answer = get_email_identity(call, "answer.example.com")

    assert answer["MailFromAttributes"]["MailFromDomain"] == "bounce.answer.example.com"
    assert len(answer["DkimAttributes"]["Tokens"]) == 3
