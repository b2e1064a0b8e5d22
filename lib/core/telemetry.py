"""Log hygiene and correlation for every invocation.

- `correlation_id()` — the id of the current request: taken from an incoming `x-correlation-id`
  (if well-formed) or the W3C `traceparent` trace id, else a new one. Handlers echo it back.
- `redact()` / `redact_document()` — the one redaction: e-mail addresses and bearer tokens in text,
  and credential fields (`clientState`, tokens, codes, keys) in a JSON document.
- `RedactingFilter` — attached to the root logger's handlers: stamps each record with the
  correlation id and masks e-mail addresses and bearer tokens in the message, so neither reaches
  Application Insights even if a message carries one by mistake; with tracing on, also with the
  trace and span ids (`otelTraceID`, `otelSpanID`).
- `invocation()` — one OpenTelemetry span per HTTP request, queue message or timer run, opened by
  the functions edge; `annotate()` adds the operation's ids to it. Both do nothing while telemetry
  is off: `start()` reads `SLOTBRIDGE_TELEMETRY_EXPORTER` on the first invocation and only then
  imports OpenTelemetry (`lib.core.tracing`), so a cold start with telemetry off loads none of it.
"""

from __future__ import annotations

import contextvars
import logging
import re
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import ModuleType
from typing import TYPE_CHECKING

from lib.core.settings import get_settings

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter

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
        if _tracing is not None:
            _tracing.stamp(record)
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


# --- Tracing. `_tracing` is `lib.core.tracing` once telemetry is on, else None.
_tracing: ModuleType | None = None
_started = False

# The ids a span may carry, by the name `annotate()` takes (and a route parameter's name): ids only,
# never an e-mail, token, code, clientState or event detail.
ATTRIBUTES = {
    "slug": "slotbridge.link.slug",
    "booking_id": "slotbridge.booking.id",
    "connection_id": "slotbridge.connection.id",
    "delivery_id": "slotbridge.delivery.id",
    "subscription_id": "slotbridge.subscription.id",
}
_ROUTE_PARAMS = {
    "slug": "slug",
    "bookingId": "booking_id",
    "connectionId": "connection_id",
    "deliveryId": "delivery_id",
}
CORRELATION_ATTRIBUTE = "slotbridge.correlation_id"


def start(exporter: SpanExporter | None = None) -> None:
    """Turn tracing on as the settings say (once per process): Azure Monitor when
    `APPLICATIONINSIGHTS_CONNECTION_STRING` is set and the exporter is `auto`, the console or OTLP
    when asked, else nothing. A given `exporter` (a test's in-memory one) is used instead."""
    global _tracing, _started
    if _started:
        return
    _started = True
    if exporter is None:
        settings = get_settings()
        choice = settings.telemetry_exporter
        if choice == "off" or (choice == "auto" and not settings.app_insights_connection_string):
            return
    import lib.core.tracing as tracing

    if exporter is not None:
        tracing.start_exporter(exporter, batch=False)
    elif choice == "auto":
        tracing.start_azure_monitor(settings.app_insights_connection_string or "")
    else:
        tracing.start_exporter(tracing.named_exporter(choice))
    _tracing = tracing
    install()  # the distro adds a log handler: it gets the redacting filter too


def stop() -> None:
    """Tracing off again (tests); `start()` may turn it on anew."""
    global _tracing, _started
    if _tracing is not None:
        _tracing.stop()
    _tracing, _started = None, False


def tracing_on() -> bool:
    return _tracing is not None


@contextmanager
def invocation(
    name: str, kind: str, headers: Mapping[str, str] | None = None, route: Mapping[str, str] | None = None
) -> Iterator[None]:
    """A span around one invocation (`kind`: http, queue or timer), with the correlation id and the
    route's ids; nothing while tracing is off."""
    start()
    if _tracing is None:
        yield
        return
    attributes = {CORRELATION_ATTRIBUTE: _correlation.get()}
    for param, value in (route or {}).items():
        if param in _ROUTE_PARAMS and value:
            attributes[ATTRIBUTES[_ROUTE_PARAMS[param]]] = value
    with _tracing.invocation(name, kind, headers, attributes):
        yield


def annotate(**ids: str | None) -> None:
    """Name the operation's ids on the current span (`ATTRIBUTES`' keys; None values skipped)."""
    if _tracing is not None:
        _tracing.annotate({ATTRIBUTES[key]: value for key, value in ids.items() if value})


def set_http_outcome(path: str, method: str, status: int) -> None:
    """The HTTP facts of the current span: method, path (e-mail-shaped parts masked), status."""
    if _tracing is not None:
        _tracing.annotate(
            {"http.request.method": method, "url.path": redact(path), "http.response.status_code": status}
        )
        if status >= 500:
            _tracing.fail(f"HTTP {status}")
