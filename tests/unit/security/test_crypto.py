"""Sealing under versioned data keys, and HMAC helpers."""

from __future__ import annotations

import pytest

from lib.core.crypto import (
    DataKey,
    SealedValueInvalid,
    StaticDataKeyProvider,
    seal,
    sealed_key_version,
    unseal,
)

OLD = DataKey("v1", b"a" * 32)
NEW = DataKey("v2", b"b" * 32)


def test_round_trip_and_key_version_travels_with_the_ciphertext() -> None:
    sealed = seal(b"token cache", OLD, b"conn-1")
    assert sealed_key_version(sealed) == "v1"
    assert b"token cache" not in sealed.encode()
    assert unseal(sealed, StaticDataKeyProvider(OLD), b"conn-1") == b"token cache"


def test_rotation_opens_old_values_and_seals_new_ones_with_the_current_key() -> None:
    rotated = StaticDataKeyProvider(NEW, OLD)
    old_value = seal(b"x", OLD, b"c")
    assert unseal(old_value, rotated, b"c") == b"x"
    assert sealed_key_version(seal(b"x", rotated.current(), b"c")) == "v2"


@pytest.mark.parametrize("ad", [b"conn-2", b""])
def test_other_associated_data_does_not_open(ad: bytes) -> None:
    with pytest.raises(SealedValueInvalid):
        unseal(seal(b"x", OLD, b"conn-1"), StaticDataKeyProvider(OLD), ad)


def test_tampering_and_garbage_are_refused() -> None:
    sealed = seal(b"x", OLD, b"c")
    flipped = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    for bad in (flipped, "sb1.v1.", "sb2.v1.abc", "nonsense", sealed.replace("v1", "v9")):
        with pytest.raises(SealedValueInvalid):
            unseal(bad, StaticDataKeyProvider(OLD), b"c")


def test_key_material_never_prints() -> None:
    assert "aaaa" not in repr(OLD)
    with pytest.raises(ValueError):
        DataKey("v1", b"short")
