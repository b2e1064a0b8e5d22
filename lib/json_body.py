"""Parsing a request body as a JSON object, size-limited, with `ValidationFailed` saying why not.
The one parser behind every JSON endpoint (the HTTP handlers and the Graph notification intake)."""

from __future__ import annotations

import json
from typing import Any

from lib.errors import FieldError, ValidationFailed


def parse_json_object(body: bytes, max_bytes: int, what: str = "request body") -> dict[str, Any]:
    if len(body) > max_bytes:
        raise ValidationFailed(
            f"The {what} is larger than {max_bytes} bytes.",
            [FieldError("body", f"at most {max_bytes} bytes")],
        )
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValidationFailed(f"The {what} is not valid JSON.", [FieldError("body", "not JSON")]) from None
    if not isinstance(data, dict):
        raise ValidationFailed(f"The {what} must be a JSON object.", [FieldError("body", "not an object")])
    return data
