"""User tokens signed by the product backend: scoped to one user, short-lived, tamper-evident."""

from __future__ import annotations

import pytest

from lib.auth.management import (
    BACKEND,
    Forbidden,
    Principal,
    authenticate,
    issue_user_token,
    verify_user_token,
)
from lib.errors import Unauthorized
from lib.settings import KeySettings

KEY = b"k" * 32
KEYS = KeySettings(None, "n", None, ("backend-key",), KEY, None)


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
