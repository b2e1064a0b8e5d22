"""clientState: an HMAC over connection and calendar that fits Graph's 128 characters and verifies
only with the key that made it."""

from __future__ import annotations

import pytest

from lib.features.sync.client_state import (
    MAX_CLIENT_STATE,
    calendar_digest,
    key_fingerprint,
    make_client_state,
    verify_client_state,
)

KEY = b"k" * 32
CALENDAR = "AAMkAGI2TGuLAAA=" + "x" * 140  # Graph calendar ids are long


def test_round_trip_names_the_connection_and_the_calendar() -> None:
    state = make_client_state("4f1c7a9e-1b2c-4d5e-8f90-123456789abc", CALENDAR, KEY)
    assert len(state) <= MAX_CLIENT_STATE
    claims = verify_client_state(state, KEY)
    assert claims is not None
    assert claims.connection_id == "4f1c7a9e-1b2c-4d5e-8f90-123456789abc"
    assert claims.calendar_digest == calendar_digest(CALENDAR)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda s: s[:-1] + ("A" if s[-1] != "A" else "B"),  # mac changed
        lambda s: s.replace("conn-1", "conn-2"),  # another connection, same mac
        lambda s: s.replace(calendar_digest("cal"), calendar_digest("other")),  # another calendar
        lambda s: "v2" + s[2:],
        lambda s: s + ".extra",
        lambda s: "",
        lambda s: s * 2,
    ],
)
def test_anything_else_does_not_verify(mangle) -> None:
    state = make_client_state("conn-1", "cal", KEY)
    assert verify_client_state(mangle(state), KEY) is None


def test_another_key_does_not_verify_and_no_key_verifies_nothing() -> None:
    state = make_client_state("conn-1", "cal", KEY)
    assert verify_client_state(state, b"o" * 32) is None
    assert verify_client_state(state, None) is None
    assert verify_client_state(None, KEY) is None
    assert verify_client_state(42, KEY) is None


def test_connection_ids_that_cannot_fit_are_refused() -> None:
    with pytest.raises(ValueError):
        make_client_state("x" * 49, "cal", KEY)
    with pytest.raises(ValueError):
        make_client_state("a.b", "cal", KEY)


def test_the_key_fingerprint_is_stable_and_not_the_key() -> None:
    assert key_fingerprint(KEY) == key_fingerprint(KEY) != key_fingerprint(b"o" * 32)
    assert KEY.decode() not in key_fingerprint(KEY)
