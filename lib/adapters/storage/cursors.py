"""Opaque paging cursors over Table continuation tokens (`GET /bookings`, `GET /webhooks/deliveries`).

A continuation token names the next row to read (other partitions' keys included); handed out as
it is, a caller could read it or edit it to start anywhere. So it leaves sealed (AES-GCM under the
current data key, bound to the listing and the filters it pages through), and a cursor that was
edited, cut, or made for another listing is a 400 `invalid_cursor` on field `cursor`.
"""

from __future__ import annotations

import json
from typing import Any

from lib.adapters.keyvault import data_keys
from lib.core.crypto import SealedValueInvalid, StaticDataKeyProvider, seal, sealed_key_version, unseal
from lib.core.errors import FieldError, ValidationFailed

MAX_CURSOR_CHARS = 2048


class InvalidCursor(ValidationFailed):
    """A `cursor` that is not one this listing handed out (tampered with, cut, or another's)."""

    code = "invalid_cursor"
    title = "The cursor is not valid"


def _binding(listing: str) -> bytes:
    return f"cursor:{listing}".encode()


def encode_cursor(token: Any, listing: str) -> str | None:
    """The next page's cursor for `listing` (a name plus the filters it was asked with), or None
    at the end."""
    if token is None:
        return None
    return seal(json.dumps(token, sort_keys=True).encode(), data_keys().current(), _binding(listing))


def decode_cursor(cursor: str | None, listing: str) -> dict[str, str] | None:
    """The continuation token inside a cursor this listing handed out, None for the first page,
    or `InvalidCursor`."""
    if not cursor:
        return None
    refused = InvalidCursor(
        "The cursor is not one this listing handed out; start again without it.",
        [FieldError("cursor", "Use the nextCursor of the previous page, unchanged.")],
    )
    if len(cursor) > MAX_CURSOR_CHARS:
        raise refused
    current = data_keys().current()
    try:
        # Only the current key: a key version named by a client is never looked up in Key Vault
        # (a cursor from before a rotation simply starts the list again).
        if sealed_key_version(cursor) != current.version:
            raise refused
        token = json.loads(unseal(cursor, StaticDataKeyProvider(current), _binding(listing)))
    except (SealedValueInvalid, ValueError):
        raise refused from None
    if not isinstance(token, dict) or not all(isinstance(v, str) for v in token.values()):
        raise refused
    return token
