"""Key encoding is total and reversible, and its output is always a legal Table Storage key."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lib.adapters.storage.keys import KeyTooLong, MalformedKey, compose_key, decode_key, encode_key, split_key

FORBIDDEN = re.compile(r"[/\\#?\x00-\x1f\x7f-\x9f\ud800-\udfff]")


@given(st.text())
def test_encode_round_trips_and_is_legal(raw: str) -> None:
    try:
        key = encode_key(raw)
    except KeyTooLong:
        return
    assert not FORBIDDEN.search(key)
    assert decode_key(key) == raw


@given(st.lists(st.text(max_size=30), min_size=1, max_size=4))
def test_composite_keys_split_back(parts: list[str]) -> None:
    assert split_key(compose_key(*parts)) == parts


def test_readable_values_stay_readable() -> None:
    assert encode_key("user@example.com") == "user@example.com"
    assert encode_key("AAMk/a+b==") == "AAMk%2Fa+b=="


def test_limit_is_one_kib_of_utf16() -> None:
    assert encode_key("x" * 512)
    with pytest.raises(KeyTooLong, match="too long"):
        encode_key("x" * 513, what="user id")


def test_foreign_percent_sequences_are_rejected() -> None:
    with pytest.raises(MalformedKey):
        decode_key("100%")
