"""Log hygiene and correlation for every invocation.

- `correlation_id()` — the id of the current request: taken from an incoming `x-correlation-id`
  (if well-formed) or the W3C `traceparent` trace id, else a new one. Handlers echo it back.
- `redact()` / `redact_document()` — the one redaction: e-mail addresses and bearer tokens in text,
  and credential fields (`clientState`, tokens, codes, keys) in a JSON document.
- `RedactingFilter` — attached to the root logger's handlers: stamps each record with the
  correlation id and masks e-mail addresses and bearer tokens in the message, so neither reaches
  Application Insights even if a message carries one by mistake.
"""

from __future__ import annotations

import contextvars
import logging
import re
import uuid
from collections.abc import Mapping

_correlation: contextvars.ContextVar[str] = contextvars.ContextVar("correlation_id", default="-")
_WELL_FORMED = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")
# Any address the input rules accept, internationalised ones included (Unicode local parts and
# domains): runs of anything but spaces and separators around an @, the domain dotted. Starts only at
# a run's beginning (the lookbehind), so a long run without an @ is scanned once, not once per char.
_ADDRESS_CHAR = r"[^\s@<>()\[\],;:\"\\]"
_LABEL = r"[^\s@<>()\[\],;:\"\\.]+"
_EMAIL = re.compile(rf"(?<!{_ADDRESS_CHAR}){_ADDRESS_CHAR}+@{_LABEL}(?:\.{_LABEL})+")
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+")


def begin_request(headers: Mapping[str, str]) -> str:
    """Set and return the correlation id for the request being handled."""
    incoming = headers.get("x-correlation-id") or headers.get("X-Correlation-Id") or ""
    if not _WELL_FORMED.match(incoming):
        trace = _TRACEPARENT.match(headers.get("traceparent", "") or "")
        incoming = trace.group(1) if trace else uuid.uuid4().hex
    _correlation.set(incoming)
    return incoming


def correlation_id() -> str:
    return _correlation.get()


def redact(text: str) -> str:
    return _BEARER.sub(r"\1<redacted>", _EMAIL.sub("<email>", text))


# Field names whose values are credentials wherever they appear (`clientState`, `access_token`,
# `refreshToken`, `code`, `secret`, `apiKey` ...), compared without case, `_` or `-`.
_SECRET_FIELD_ENDINGS = (
    "token",
    "secret",
    "password",
    "clientstate",
    "code",
    "key",
    "signature",
    "authorization",
)


def redact_document(value: object) -> object:
    """A JSON value with credential fields masked and every string `redact`ed (e-mails, bearer
    tokens): for showing stored documents, such as queue messages, to an operator."""
    if isinstance(value, dict):
        return {
            key: "<redacted>"
            if str(key).lower().replace("_", "").replace("-", "").endswith(_SECRET_FIELD_ENDINGS)
            else redact_document(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact_document(item) for item in value]
    if isinstance(value, str):
        return redact(value)
    return value


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.correlation_id = _correlation.get()
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is logged as it is
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install() -> None:
    """Attach the filter to the root logger and its handlers once (idempotent)."""
    root = logging.getLogger()
    targets: list[logging.Filterer] = [root, *root.handlers]
    for target in targets:
        if not any(isinstance(f, RedactingFilter) for f in target.filters):
            target.addFilter(RedactingFilter())
