"""Hypothesis strategies for hostile input, shared by the unit tests and the contract fuzzing.

Each strategy yields raw JSON text (not Python values): a lone surrogate cannot be encoded as UTF-8,
so it travels as the JSON escape `"\\udfff"`, and a 5,000-digit number or a 3,000-level nesting must
reach the server's parser as written.
"""

from __future__ import annotations

import json

from hypothesis import strategies as st

from lib.core.crypto import b64url, hmac_sha256

# Kept under the 8 KiB body limit of the booking routes with room for the rest of the body.
MAX_HOSTILE_CHARS = 7000


def _json_text(value: str) -> str:
    return json.dumps(value, ensure_ascii=True)  # surrogates and controls as \\uXXXX escapes


@st.composite
def deep_nesting(draw: st.DrawFn) -> str:
    """An array or object nested 33 .. thousands of levels (the parser allows 32)."""
    if draw(st.booleans()):
        depth = draw(st.integers(33, MAX_HOSTILE_CHARS // 2))
        return "[" * depth + "]" * depth
    depth = draw(st.integers(33, MAX_HOSTILE_CHARS // 6))
    return '{"a":' * depth + "1" + "}" * depth


@st.composite
def huge_numbers(draw: st.DrawFn) -> str:
    """Number literals too long to be sensible, or not finite."""
    kind = draw(st.sampled_from(["int", "float", "exponent", "constant"]))
    if kind == "constant":
        return draw(st.sampled_from(["NaN", "Infinity", "-Infinity"]))
    if kind == "exponent":
        return draw(st.sampled_from(["1e999", "-1e400", "1E+99999"]))
    digits = "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=33, max_size=200)))
    digits = "1" + digits + "9" * draw(st.integers(0, MAX_HOSTILE_CHARS - 300))
    sign = draw(st.sampled_from(["", "-"]))
    return sign + digits + (".5" if kind == "float" else "")


EXTREME_DAYS = [
    "0001-01-01",
    "1969-12-31",
    "1999-12-31",
    "2101-01-01",
    "9998-12-31",
    "9999-12-31",
    "2026-02-30",
    "2026-13-01",
    "2026-00-10",
]


@st.composite
def extreme_dates(draw: st.DrawFn) -> str:
    """A date (YYYY-MM-DD) or date-time out of the documented range or not a calendar date at all,
    as JSON text."""
    day = draw(st.sampled_from(EXTREME_DAYS))
    if draw(st.booleans()):
        return _json_text(day)
    offset = draw(st.sampled_from(["Z", "+14:00", "-14:00", "+00:00", "-23:59"]))
    clock = draw(st.sampled_from(["00:00", "23:59", "10:00"]))
    return _json_text(f"{day}T{clock}:00{offset}")


def _embed(draw: st.DrawFn, odd: str) -> str:
    prefix = draw(st.text(alphabet="abcXYZ @.-", max_size=8))
    suffix = draw(st.text(alphabet="abcXYZ .", max_size=8))
    return prefix + odd + suffix


@st.composite
def lone_surrogates(draw: st.DrawFn) -> str:
    """A JSON string carrying a lone (unpaired) surrogate."""
    odd = chr(draw(st.sampled_from([0xD800, 0xDBFF, 0xDC00, 0xDFFF]) | st.integers(0xD800, 0xDFFF)))
    text = _embed(draw, odd)
    if draw(st.booleans()):
        text = f"{text}@example.com"  # shaped like an e-mail address, as in the issue
    return _json_text(text)


# C0 (but the line breaks and tabs notes may keep), DEL and C1.
CONTROL_CHARACTERS = [chr(c) for c in range(0x20) if chr(c) not in "\n\r\t"] + [
    chr(c) for c in range(0x7F, 0xA0)
]


@st.composite
def control_characters(draw: st.DrawFn) -> str:
    """A JSON string with a control character no field documents."""
    return _json_text(_embed(draw, draw(st.sampled_from(CONTROL_CHARACTERS))))


def hostile_text() -> st.SearchStrategy[str]:
    """Any hostile value for a text field (as JSON text)."""
    return lone_surrogates() | control_characters() | deep_nesting() | huge_numbers()


# --- user tokens -----------------------------------------------------------------------------------

_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)


def non_object_payloads() -> st.SearchStrategy[bytes]:
    """Token payloads that are valid JSON but not the claims object, or claims of the wrong types."""
    not_objects = st.one_of(_SCALARS, st.lists(_SCALARS, max_size=4)).map(lambda v: json.dumps(v).encode())
    wrong_claims = st.fixed_dictionaries(
        {},
        optional={
            "sub": _SCALARS | st.lists(_SCALARS, max_size=2) | st.just("\udfff") | st.just("a\x00b"),
            "iat": _SCALARS | st.just(True),
            "exp": _SCALARS | st.just(True) | st.just(10**40),
        },
    ).map(lambda v: json.dumps(v).encode())
    raw = st.sampled_from([b"[" * 2000 + b"]" * 2000, b"1" * 1500, b"NaN", b'"x"', b"[]", b"null"])
    return not_objects | wrong_claims | raw


def signed_token(key: bytes, payload: bytes) -> str:
    """A user token over any payload bytes, signed as the product backend signs (verifies fine)."""
    encoded = b64url(payload)
    return f"v1.{encoded}.{b64url(hmac_sha256(key, f'v1.{encoded}'.encode()))}"
