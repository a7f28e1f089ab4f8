"""Issue 14 §5 on the real API: a body swapped under a signature never gets through, whatever
the client claims in x-amz-content-sha256 (the probe changed a tag under UNSIGNED-PAYLOAD)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from identities.models import Tag
from tests.security.conftest import World, api_request, encoded

MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method."
)


def tag_body(value: str, world: World) -> bytes:
    return json.dumps(
        {"ResourceArn": world.domain.arn, "Tags": [{"Key": "team", "Value": value}]}
    ).encode()


def swapped_tag_request(world: World, client: Any, content_sha256: str) -> Any:
    """TagResource signed over team=a (with this x-amz-content-sha256), sent with team=evil."""
    return api_request(
        client, world.access_key.access_key_id, world.access_key_secret, "POST",
        "/v2/email/tags", body=tag_body("a", world), sent_body=tag_body("evil", world),
        extra_headers={"X-Amz-Content-SHA256": content_sha256},
    )  # fmt: skip


def tags(world: World) -> list[tuple[str, str]]:
    return sorted(Tag.objects.filter(identity=world.domain).values_list("key", "value"))


def test_unsigned_payload_does_not_let_a_changed_body_through(world: World, client: Any) -> None:
    before = tags(world)
    response = swapped_tag_request(world, client, "UNSIGNED-PAYLOAD")
    assert (response.status_code, response.json()["message"]) == (403, MISMATCH)
    assert tags(world) == before


def test_a_signed_payload_hash_does_not_let_a_changed_body_through(
    world: World, client: Any
) -> None:
    before = tags(world)
    original_hash = hashlib.sha256(tag_body("a", world)).hexdigest()
    response = swapped_tag_request(world, client, original_hash)
    assert (response.status_code, response.json()["message"]) == (
        400,
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
    )
    assert tags(world) == before


def test_an_untouched_request_still_passes(world: World, client: Any) -> None:
    response = api_request(
        client, world.access_key.access_key_id, world.access_key_secret, "GET",
        f"/v2/email/identities/{encoded(world.domain.name)}",
    )  # fmt: skip
    assert response.status_code == 200
