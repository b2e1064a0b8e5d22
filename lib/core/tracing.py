"""OpenTelemetry for Slotbridge: the tracer provider and exporter, the dependency instrumentation
(Graph and other HTTP calls through `requests`; Table, Queue and Key Vault calls through azure-core's
tracing), and one span per function invocation.

Imported only when telemetry is on (`lib.core.telemetry.start`), so that a cold start with telemetry
off loads no OpenTelemetry module. Spans carry ids only — the correlation id, a link's slug, booking,
connection and delivery ids — never e-mails, tokens, codes, clientState or event details: HTTP spans
record the path (e-mail-shaped parts masked) without its query, dependency spans the URL without its
query.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from opentelemetry import trace
from opentelemetry.propagate import extract
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

SERVICE_NAME = "slotbridge"
_TRACER = "slotbridge"
_KINDS = {"http": SpanKind.SERVER, "queue": SpanKind.CONSUMER, "timer": SpanKind.INTERNAL}
# The distro's instrumentations for frameworks the app does not use stay off; `requests` is
# instrumented here (with the URL scrubbed), not by the distro.
_DISTRO_OFF = ("requests", "django", "fastapi", "flask", "psycopg2", "urllib", "urllib3")


def _resource() -> Resource:
    return Resource.create({"service.name": SERVICE_NAME})


def start_azure_monitor(connection_string: str) -> None:
    """The Azure Monitor distro: traces, logs (with trace context) and metrics to Application
    Insights; its exporter authenticates with `APPLICATIONINSIGHTS_AUTHENTICATION_STRING` (the
    managed identity) when the template sets it."""
    from azure.monitor.opentelemetry import configure_azure_monitor

    configure_azure_monitor(
        connection_string=connection_string,
        resource=_resource(),
        instrumentation_options={name: {"enabled": False} for name in _DISTRO_OFF},
        enable_live_metrics=False,
    )
    _instrument_requests()


def start_exporter(exporter: SpanExporter, *, batch: bool = True) -> None:
    """Traces to `exporter` (console, OTLP, or a test's in-memory one), dependencies instrumented."""
    # The global provider can be set once per process: a second start (tests) adds its exporter.
    current = trace.get_tracer_provider()
    provider = current if isinstance(current, TracerProvider) else TracerProvider(resource=_resource())
    provider.add_span_processor(BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter))
    if provider is not current:
        trace.set_tracer_provider(provider)
    from azure.core.settings import settings

    settings.tracing_implementation = "opentelemetry"
    _instrument_requests()


def named_exporter(name: str) -> SpanExporter:
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter(service_name=SERVICE_NAME)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()  # OTEL_EXPORTER_OTLP_ENDPOINT, default http://localhost:4318


def stop() -> None:
    """Undo the instrumentation (tests switch telemetry off again; the provider stays installed)."""
    from azure.core.settings import settings
    from opentelemetry.instrumentation.requests import RequestsInstrumentor

    RequestsInstrumentor().uninstrument()
    settings.tracing_implementation = None
    provider = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):
        provider.force_flush()


def without_query(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _scrub_url(span: Span, request: Any) -> None:
    # A Graph delta link's cursor, a webhook URL's parameters: the query stays out of telemetry.
    if span.is_recording():
        url = without_query(str(getattr(request, "url", "")))
        span.set_attribute("url.full", url)
        span.set_attribute("http.url", url)


def _instrument_requests() -> None:
    from opentelemetry.instrumentation.requests import RequestsInstrumentor

    instrumentor = RequestsInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument(request_hook=_scrub_url)


@contextmanager
def invocation(
    name: str, kind: str, headers: Mapping[str, str] | None, attributes: Mapping[str, str]
) -> Iterator[Span]:
    """One span for one invocation: an HTTP request continues the caller's W3C `traceparent`; a
    queue message or timer run continues the host's context (the worker's), or starts a trace."""
    parent = extract(dict(headers)) if headers else None
    tracer = trace.get_tracer(_TRACER)
    with tracer.start_as_current_span(
        name, context=parent, kind=_KINDS[kind], attributes=dict(attributes), record_exception=False
    ) as span:
        try:
            yield span
        except BaseException as error:
            # The type only: an exception's message may carry what a span must not.
            span.set_status(Status(StatusCode.ERROR, type(error).__name__))
            raise


def annotate(attributes: Mapping[str, str | int]) -> None:
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attributes(dict(attributes))


def fail(description: str) -> None:
    trace.get_current_span().set_status(Status(StatusCode.ERROR, description))


def stamp(record: logging.LogRecord) -> None:
    """The current trace and span ids on a log record (as OpenTelemetry's logging instrumentation
    names them), so a log line can be followed to its trace."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        record.otelTraceID = format(context.trace_id, "032x")
        record.otelSpanID = format(context.span_id, "016x")
