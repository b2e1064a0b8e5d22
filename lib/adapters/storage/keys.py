"""PartitionKey / RowKey encoding: any string (user id, e-mail, Graph id, calendar id) becomes a valid
Table Storage key and decodes back to itself.

Table Storage forbids `/ \\ # ?` and control characters (U+0000-U+001F, U+007F-U+009F) in keys and
limits a key to 1 KiB. We escape those characters, plus `%` (the escape itself) and `|` (the
separator of composite keys), as `%XX`; lone surrogates (which JSON input can carry but UTF-8 cannot)
become `%uXXXX`. Every other character is kept, so keys stay readable and sort as the raw values do
for ordinary text.
"""

from __future__ import annotations

import re

from lib.core.errors import FieldError, ValidationFailed
from lib.core.input_rules import check_user_id

MAX_KEY_BYTES = 1024  # Table Storage counts key size in UTF-16 bytes.
SEPARATOR = "|"

_ESCAPE_RE = re.compile(r"%u([0-9A-F]{4})|%([0-9A-F]{2})")


class KeyTooLong(ValidationFailed):
    """A value whose encoded key exceeds the 1 KiB limit; reported as a validation error."""


class MalformedKey(ValueError):
    """A stored key that is not the output of `encode_key` (never expected; kept loud)."""


def _needs_escape(ch: str) -> bool:
    code = ord(ch)
    return ch in "/\\#?%|" or code < 0x20 or 0x7F <= code <= 0x9F or 0xD800 <= code <= 0xDFFF


def _escape(ch: str) -> str:
    code = ord(ch)
    return f"%u{code:04X}" if code > 0xFF else f"%{code:02X}"


def encode_key(value: str, *, what: str = "key") -> str:
    """Encode one raw value as a key; `what` names it in the error if it is too long."""
    encoded = "".join(_escape(ch) if _needs_escape(ch) else ch for ch in value)
    _check_length(encoded, what)
    return encoded


def compose_key(*parts: str, what: str = "key") -> str:
    """Several raw values as one key (e.g. calendar id + event start), decodable with `split_key`."""
    encoded = SEPARATOR.join(encode_key(part, what=what) for part in parts)
    _check_length(encoded, what)
    return encoded


def decode_key(key: str) -> str:
    """The raw value of a key made by `encode_key`."""

    def unescape(match: re.Match[str]) -> str:
        return chr(int(match.group(1) or match.group(2), 16))

    if "%" in key:
        stripped = _ESCAPE_RE.sub("", key)
        if "%" in stripped:
            raise MalformedKey(f"not an encoded key: {key!r}")
    return _ESCAPE_RE.sub(unescape, key)


def split_key(key: str) -> list[str]:
    """The raw parts of a key made by `compose_key`."""
    return [decode_key(part) for part in key.split(SEPARATOR)]


def _check_length(encoded: str, what: str) -> None:
    size = len(encoded.encode("utf-16-le", errors="surrogatepass"))
    if size > MAX_KEY_BYTES:
        raise KeyTooLong(
            f"The {what} is too long to store ({size} bytes encoded; the limit is {MAX_KEY_BYTES}).",
            [FieldError(what, f"at most {MAX_KEY_BYTES} bytes once encoded")],
        )


def require_user_id(value: str, field: str = "userId") -> str:
    """`value` as a user id that may key a table row, or ValidationFailed (400, not a 500 later):
    the user id rule of `lib.core.input_rules`, then the key limits here."""
    problems: list[FieldError] = []
    if check_user_id(value, field, problems) is None:
        raise ValidationFailed("The user id is not valid.", problems)
    encode_key(value, what=field)
    return value
