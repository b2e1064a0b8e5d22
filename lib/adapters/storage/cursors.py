"""Opaque paging cursors over Table continuation tokens.

A continuation token names the next row to read; handed out as it is, a caller could edit it to
start anywhere. So it leaves sealed (AES-GCM under the data key, bound to what it pages through),
and a cursor that was edited, or made for another listing, is a 400 on field `cursor`.
"""

from __future__ import annotations

import json
from typing import Any

from lib.adapters.keyvault import data_keys
from lib.core.crypto import SealedValueInvalid, seal, unseal
from lib.core.errors import FieldError, ValidationFailed

MAX_CURSOR_CHARS = 2048


def _scope(listing: str) -> bytes:
    return f"cursor:{listing}".encode()


def encode_cursor(token: Any, listing: str) -> str | None:
    """The next page's cursor for `listing` (a name plus the filters it was asked with), or None
    at the end."""
    if token is None:
        return None
    return seal(json.dumps(token, separators=(",", ":")).encode(), data_keys().current(), _scope(listing))


def decode_cursor(cursor: str | None, listing: str) -> Any:
    """The continuation token inside a cursor this listing handed out, None for the first page,
    or `ValidationFailed` (field `cursor`)."""
    if not cursor:
        return None
    problem = [FieldError("cursor", "Use the nextCursor of the previous page, unchanged.")]
    if len(cursor) > MAX_CURSOR_CHARS:
        raise ValidationFailed("The cursor is not valid.", problem)
    try:
        return json.loads(unseal(cursor, data_keys(), _scope(listing)))
    except (SealedValueInvalid, ValueError):
        raise ValidationFailed("The cursor is not valid.", problem) from None
