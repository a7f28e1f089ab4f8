"""Hypothesis: properly signed random bodies never make the API answer 5xx.

Bodies are drawn three ways: shaped like botocore's model (member names, enum values, nested
structures) with any member replaced by random JSON now and then; arbitrary JSON; raw bytes.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.model import Shape
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.shapes import operation_model

from .conftest import KeyPair, send_signed

OPERATIONS = {
    "CreateEmailIdentity": ("POST", "/v2/email/identities"),
    "PutEmailIdentityDkimSigningAttributes": (
        "PUT",
        "/v2/email/identities/example.com/dkim/signing",
    ),
    "CreateConfigurationSet": ("POST", "/v2/email/configuration-sets"),
    "CreateCustomVerificationEmailTemplate": (
        "POST",
        "/v2/email/custom-verification-email-templates",
    ),
    "TagResource": ("POST", "/v2/email/tags"),
    "PutAccountDetails": ("POST", "/v2/email/account/details"),
}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
interesting_text = st.sampled_from(
    [
        "example.com",
        "user+tag@example.com",
        "a b@example.com",
        "Team <a@example.com>",
        "arn:aws:ses:us-east-1:111111111111:identity/example.com",
        "arn:aws:ses:us-east-1:222222222222:identity/example.com",
        "https://example.com/ok",
        "<p>hi</p><script>x</script>",
        "<!-- c -->",
        "sel1",
        "MIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7AgEAAkEA",
        "aws:reserved",
        "x" * 300,
        "\x00",
        "\ud800",
        "",
    ]
)


def shaped(shape: Shape, depth: int = 0) -> st.SearchStrategy[Any]:
    """A value shaped like `shape`, sometimes replaced by arbitrary JSON."""
    kind = shape.type_name
    if depth > 4:
        return json_values
    if kind == "structure":
        members = {name: shaped(member, depth + 1) for name, member in shape.members.items()}
        typed = st.fixed_dictionaries({}, optional=members) if members else st.just({})
    elif kind == "list":
        typed = st.lists(shaped(shape.member, depth + 1), max_size=3)
    elif kind == "map":
        typed = st.dictionaries(st.text(max_size=10), shaped(shape.value, depth + 1), max_size=3)
    elif kind == "string":
        typed = (
            st.sampled_from(shape.enum) if shape.enum else (interesting_text | st.text(max_size=30))
        )
    elif kind == "boolean":
        typed = st.booleans()
    elif kind in ("integer", "long"):
        typed = st.integers(min_value=-(2**40), max_value=2**40)
    else:
        typed = st.floats(allow_nan=False, allow_infinity=False)
    return st.one_of(typed, typed, typed, json_values)


def body_strategy(operation: str) -> st.SearchStrategy[bytes]:
    shape = operation_model(operation).input_shape
    members = {n: shaped(m) for n, m in shape.members.items() if "location" not in m.serialization}
    model_shaped = st.fixed_dictionaries({}, optional=members).map(lambda d: json.dumps(d).encode())
    arbitrary = json_values.map(lambda value: json.dumps(value).encode())
    return st.one_of(model_shaped, model_shaped, model_shaped, arbitrary, st.binary(max_size=64))


requests = st.sampled_from(sorted(OPERATIONS)).flatmap(
    lambda op: st.tuples(st.just(op), body_strategy(op))
)


@pytest.fixture
def fuzz_target(live_server: Any, owner_key: KeyPair, ses: Any) -> tuple[str, KeyPair]:
    # Something for the identity-scoped operation to act on.
    ses.create_email_identity(EmailIdentity="example.com")
    return live_server.url, owner_key


@settings(
    max_examples=360,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(request=requests)
def test_signed_random_bodies_never_answer_5xx(
    fuzz_target: tuple[str, KeyPair], request: tuple[str, bytes]
) -> None:
    base_url, key = fuzz_target
    operation, payload = request
    method, path = OPERATIONS[operation]

    response = send_signed(base_url, key, method, path, body=payload)

    assert response.status < 500, (operation, payload, response.body)
    assert response.headers["Content-Type"] == "application/json"
    if response.status >= 400:
        assert response.headers["x-amzn-ErrorType"]
        assert isinstance(json.loads(response.body)["message"], str)
