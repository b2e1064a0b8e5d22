"""Parsing untrusted JSON, bounded, with `ValidationFailed` saying why not.

`parse_json_object` is the one parser behind every JSON endpoint (the HTTP handlers and the Graph
notification intake); `loads_bounded` is the same rule for other untrusted JSON (the user token's
payload). The rule: at most `MAX_DEPTH` nested arrays/objects (checked by a flat scan before parsing,
so neither the check nor the parser can recurse deeply), number literals of at most
`MAX_NUMBER_CHARS` characters, finite numbers only (no NaN / Infinity / 1e999).
"""

from __future__ import annotations

import json
import logging
import math
import re
from itertools import accumulate
from typing import Any

from lib.core.errors import FieldError, ValidationFailed

log = logging.getLogger("slotbridge.json")

MAX_DEPTH = 32
MAX_NUMBER_CHARS = 32

# A JSON string (escapes included): removed before counting brackets, so "[[[" in a text is not depth.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


class _Refused(ValueError):
    """Raised inside the parser's hooks; carries the short reason."""


def _int(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise _Refused(f"a number longer than {MAX_NUMBER_CHARS} characters")
    return int(text)


def _float(text: str) -> float:
    value = float(text) if len(text) <= MAX_NUMBER_CHARS else math.inf
    if not math.isfinite(value):
        raise _Refused(f"a number that is not finite or longer than {MAX_NUMBER_CHARS} characters")
    return value


def _constant(name: str) -> Any:
    raise _Refused(f"{name} is not JSON")


def _depth(text: str) -> int:
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(1 if ch in "[{" else -1 for ch in brackets), default=0)


def loads_bounded(raw: bytes | str, what: str = "request body") -> Any:
    """`raw` parsed as JSON under the rule above, or `ValidationFailed` (field `body`)."""
    try:
        text = raw.decode(json.detect_encoding(raw), "surrogatepass") if isinstance(raw, bytes) else raw
        if _depth(text) > MAX_DEPTH:
            raise _Refused(f"nested deeper than {MAX_DEPTH} levels")
        return json.loads(text, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except _Refused as refused:
        # One short line, never the body: why it was refused is enough to recognise an attack.
        log.info("%s refused: %s", what, refused)
        raise ValidationFailed(
            f"The {what} is not acceptable JSON: {refused}.", [FieldError("body", str(refused))]
        ) from None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError, ValueError):
        raise ValidationFailed(f"The {what} is not valid JSON.", [FieldError("body", "not JSON")]) from None


def parse_json_object(body: bytes, max_bytes: int, what: str = "request body") -> dict[str, Any]:
    if len(body) > max_bytes:
        raise ValidationFailed(
            f"The {what} is larger than {max_bytes} bytes.",
            [FieldError("body", f"at most {max_bytes} bytes")],
        )
    data = loads_bounded(body, what)
    if not isinstance(data, dict):
        raise ValidationFailed(f"The {what} must be a JSON object.", [FieldError("body", "not an object")])
    return data
