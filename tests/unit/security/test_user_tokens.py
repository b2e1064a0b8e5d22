"""User tokens signed by the product backend: scoped to one user, short-lived, tamper-evident."""

from __future__ import annotations

import json

import pytest
from hypothesis import assume, given, settings

from lib.core.auth import BACKEND, Forbidden, Principal, authenticate, issue_user_token, verify_user_token
from lib.core.errors import Unauthorized
from lib.core.settings import KeySettings
from tests.hostile import non_object_payloads, signed_token

KEY = b"k" * 32
# Only the keys authenticate() reads (model_construct: no data-key source needed here).
KEYS = KeySettings.model_construct(
    key_vault_url=None,
    data_key_secret_name="n",
    local_data_key=None,
    api_keys=("backend-key",),
    user_token_key=KEY,
    webhook_signing_key=None,
)


def test_a_valid_token_names_its_user() -> None:
    assert verify_user_token(KEY, issue_user_token(KEY, "alice", now=1000), now=1100) == "alice"


@pytest.mark.parametrize(
    "token",
    [
        issue_user_token(b"x" * 32, "alice", now=1000),  # wrong key
        issue_user_token(KEY, "alice", ttl_s=60, now=0),  # expired
        issue_user_token(KEY, "alice", ttl_s=86400, now=1000),  # too long-lived
        "v1.e30.AAAA",
        "v2." + issue_user_token(KEY, "alice", now=1000)[3:],
        "garbage",
    ],
)
def test_bad_tokens_are_refused(token: str) -> None:
    with pytest.raises(Unauthorized):
        verify_user_token(KEY, token, now=1100)


def test_a_token_for_alice_cannot_act_for_bob() -> None:
    principal = authenticate({"Authorization": f"Bearer {issue_user_token(KEY, 'alice')}"}, KEYS)
    principal.require_user("alice")
    with pytest.raises(Forbidden):
        principal.require_user("bob")


def test_the_backend_key_acts_for_anyone_and_a_wrong_key_for_no_one() -> None:
    assert authenticate({"X-Api-Key": "backend-key"}, KEYS) == BACKEND
    BACKEND.require_user("anyone")
    with pytest.raises(Unauthorized):
        authenticate({"X-Api-Key": "guess"}, KEYS)
    with pytest.raises(Unauthorized):
        authenticate({}, KEYS)
    assert Principal("alice").user_id == "alice"


def _would_verify(payload: bytes, now: int) -> bool:
    """A generated payload that happens to be a valid claims object (the strategy rarely makes one)."""
    try:
        claims = json.loads(payload)
    except (ValueError, RecursionError):
        return False
    if not isinstance(claims, dict):
        return False
    sub, iat, exp = claims.get("sub"), claims.get("iat"), claims.get("exp")
    return (
        isinstance(sub, str)
        and bool(sub.strip())
        and all(type(v) is int for v in (iat, exp))
        and exp >= now - 60
        and exp - iat <= 3600
        and iat <= now + 60
    )


@pytest.mark.parametrize(
    "payload", [b"[]", b'["sub", "alice"]', b"42", b'"alice"', b"null", b"true", b"[" * 3000 + b"]" * 3000]
)
def test_a_signed_payload_that_is_not_an_object_is_unauthorized_not_a_crash(payload: bytes) -> None:
    """The issue: a token whose payload verifies but is a list answered 500 (AttributeError)."""
    with pytest.raises(Unauthorized):
        verify_user_token(KEY, signed_token(KEY, payload), now=1100)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(payload=non_object_payloads())
def test_every_signed_shape_is_validated_as_data(payload: bytes) -> None:
    assume(not _would_verify(payload, 1100))
    token = signed_token(KEY, payload)
    if len(token) > 2048:
        token = token[:2048]  # still refused (malformed): the point is that nothing else escapes
    with pytest.raises(Unauthorized):
        verify_user_token(KEY, token, now=1100)
    with pytest.raises(Unauthorized):
        authenticate({"Authorization": f"Bearer {token}"}, KEYS)
