"""OpenTelemetry through the dev host (which runs the app in this process): a host connects Outlook
and an attendee books, with spans captured by an in-memory exporter. Each request, queue message
and timer run is one span with the correlation id and the operation's ids; Graph, Table/Queue and
Key Vault calls are its children; log lines carry its trace id; and no span, attribute or event
holds an e-mail, a token, a code, a secret or clientState."""

from __future__ import annotations

import base64
import logging
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from devstack.funchost import DevHost
from devstack.sandbox import DEFAULT_CLIENT_SECRET
from devstack.sandbox.admin_client import SandboxAdmin
from lib.core import telemetry
from tests.fixtures.devhost import API_KEY, CLIENT_STATE_KEY, DATA_KEY, USER_TOKEN_KEY, WEBHOOK_KEY
from tests.fixtures.log_guard import CREDENTIAL
from tests.integration.availability.helpers import Host, next_monday
from tests.integration.bookings.helpers import at, book, booking_body, new_link

# What a span must never hold: e-mail-shaped text, a bearer or JWT, an OAuth code or secret in a
# query, and (below) the run's own keys and secrets.
_FORBIDDEN = re.compile(
    r"@[A-Za-z0-9-]+\.|(?i:bearer\s)|eyJ[A-Za-z0-9_-]{8,}|[?&](code|client_secret|token)="
)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    telemetry.stop()  # an earlier module's first invocation may have found telemetry off
    telemetry.start(exporter)
    try:
        yield exporter
    finally:
        telemetry.stop()


@pytest.fixture()
def records() -> Iterator[_Records]:
    handler = _Records()
    root = logging.getLogger()
    root.addHandler(handler)
    telemetry.install()  # the redacting, trace-stamping filter on the new handler too
    try:
        yield handler
    finally:
        root.removeHandler(handler)


def _named(spans: tuple[ReadableSpan, ...], name: str) -> list[ReadableSpan]:
    return [s for s in spans if s.name == name]


def _children(spans: tuple[ReadableSpan, ...], parent: ReadableSpan) -> list[ReadableSpan]:
    assert parent.context is not None
    return [s for s in spans if s.parent is not None and s.parent.span_id == parent.context.span_id]


def _texts(span: ReadableSpan) -> list[str]:
    texts = [span.name, span.status.description or ""]
    texts += [f"{k}={v}" for k, v in (span.attributes or {}).items()]
    for event in span.events:
        texts += [event.name, *(f"{k}={v}" for k, v in (event.attributes or {}).items())]
    texts += [f"{k}={v}" for k, v in span.resource.attributes.items()]
    return texts


def _wait_for(exporter: InMemorySpanExporter, name: str, timeout: float = 30) -> list[ReadableSpan]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = _named(exporter.get_finished_spans(), name)
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"no {name} span within {timeout}s")


def test_a_booking_is_one_trace_with_its_ids_and_dependencies_and_no_secret(
    spans: InMemorySpanExporter,
    devhost: DevHost,
    admin: SandboxAdmin,
    sandbox_http: requests.Session,
    records: _Records,
) -> None:
    host = Host(devhost, admin, sandbox_http)  # connects Outlook: the callback, tokens, subscriptions
    slug = new_link(devhost, (host.user_id, "microsoft"))
    attendee = "ada.lovelace@example.com"

    r = book(devhost, slug, body=booking_body(at(next_monday(), 10), email=attendee))

    assert r.status_code == 201, r.text
    booking = r.json()
    finished = spans.get_finished_spans()
    (server,) = [s for s in _named(finished, "create_booking") if s.kind == SpanKind.SERVER]
    attributes = server.attributes or {}
    assert attributes["slotbridge.correlation_id"] == r.headers["X-Correlation-Id"]
    assert attributes["slotbridge.link.slug"] == slug
    assert attributes["slotbridge.booking.id"] == booking["bookingId"]
    assert attributes["http.request.method"] == "POST"
    assert attributes["url.path"] == f"/api/links/{slug}/bookings"
    assert attributes["http.response.status_code"] == 201
    # The test's own HTTP call (instrumented `requests`) is the parent: the caller's traceparent is
    # continued.
    assert server.parent is not None
    (caller,) = [s for s in finished if s.context is not None and s.context.span_id == server.parent.span_id]
    assert caller.kind == SpanKind.CLIENT
    # Dependencies: Graph over `requests` (the event write), Table Storage over azure-core.
    children = _children(finished, server)
    graph = [s for s in children if str((s.attributes or {}).get("url.full", "")).find("/v1.0/") > 0]
    assert graph and all(s.kind == SpanKind.CLIENT for s in graph)
    assert all("?" not in str((s.attributes or {})["url.full"]) for s in graph)
    storage = [s for s in children if s.name.startswith(("Table", "TableClient", "Queue", "QueueClient"))]
    assert storage, sorted({s.name for s in children})

    # The sign-in callback, the outbox and sync queue messages are spans too, each with its ids.
    (callback,) = _named(finished, "auth_callback")
    assert (callback.attributes or {})["url.path"] == "/api/auth/callback"
    sync = _wait_for(spans, "process_sync_request")
    assert any((s.attributes or {}).get("slotbridge.connection.id") == host.connection_id for s in sync)
    (delivery, *_) = _wait_for(spans, "deliver_outbox_message")
    assert delivery.kind == SpanKind.CONSUMER and (delivery.attributes or {}).get("slotbridge.delivery.id")

    # Log lines carry the trace (and span) id of the invocation that logged them.
    delivery_trace = format(delivery.context.trace_id, "032x") if delivery.context else ""
    outbox_lines = [rec for rec in records.records if rec.getMessage().startswith("outbox_delivery ")]
    assert outbox_lines and delivery_trace in {getattr(rec, "otelTraceID", None) for rec in outbox_lines}

    # Nothing secret anywhere: every span of the run, every attribute, event and resource value.
    secrets = [
        attendee,
        host.email,
        booking["manageToken"],
        API_KEY,
        DEFAULT_CLIENT_SECRET,
        DATA_KEY,
        *(base64.b64encode(k).decode() for k in (USER_TOKEN_KEY, WEBHOOK_KEY, CLIENT_STATE_KEY)),
    ]
    everything = spans.get_finished_spans()
    assert len(everything) > 20
    for span in everything:
        for text in _texts(span):
            assert not _FORBIDDEN.search(text), (span.name, text)
            assert not CREDENTIAL.search(text), (span.name, text)  # the sandbox's tokens and codes
            assert not any(secret in text for secret in secrets), (span.name, text)


def test_key_vault_reads_are_dependency_spans_without_the_secret(
    spans: InMemorySpanExporter, keyvault_client: Any
) -> None:
    from lib.adapters.keyvault import KeyVaultDataKeyProvider

    value = base64.b64encode(b"k" * 32).decode()
    keyvault_client.set_secret("telemetry-data-key", value)
    spans.clear()

    with telemetry.invocation("read_key", "timer"):
        KeyVaultDataKeyProvider(keyvault_client, "telemetry-data-key").current()

    finished = spans.get_finished_spans()
    (run,) = _named(finished, "read_key")
    vault = [
        s for s in _children(finished, run) if "SecretClient" in s.name or "get_secret" in s.name.lower()
    ]
    assert vault, sorted(s.name for s in finished)
    assert all(value not in text for span in finished for text in _texts(span))
