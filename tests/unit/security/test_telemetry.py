"""Correlation ids, log redaction, and tracing switched by `SLOTBRIDGE_TELEMETRY_EXPORTER`."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lib.core import telemetry


def test_correlation_id_is_taken_when_well_formed_else_made() -> None:
    assert telemetry.begin_request({"x-correlation-id": "abc-123"}) == "abc-123"
    assert telemetry.correlation_id() == "abc-123"
    trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    assert telemetry.begin_request({"x-correlation-id": "bad id\n", "traceparent": trace}) == (
        "4bf92f3577b34da6a3ce929d0e0e4736"
    )
    made = telemetry.begin_request({})
    assert len(made) == 32 and made != "4bf92f3577b34da6a3ce929d0e0e4736"


def test_emails_and_bearer_tokens_are_masked(caplog) -> None:  # type: ignore[no-untyped-def]
    logger = logging.getLogger("slotbridge.test")
    handler_filter = telemetry.RedactingFilter()
    caplog.handler.addFilter(handler_filter)
    try:
        logger.warning("user %s sent Authorization: Bearer %s", "pat@contoso.com", "eyJ0eXAi.abc.def")
    finally:
        caplog.handler.removeFilter(handler_filter)
    [record] = caplog.records
    assert record.getMessage() == "user <email> sent Authorization: Bearer <redacted>"
    assert record.correlation_id  # stamped for the log pipeline


@pytest.mark.parametrize(
    "address",
    ["jörg@bücher.example", "JÖRG@xn--bcher-kva.example", "用户@例子.广告", "o'brien+x@corp.local"],
)
def test_internationalised_addresses_are_masked_too(caplog, address: str) -> None:  # type: ignore[no-untyped-def]
    """Every address the input rules accept (Unicode local parts and domains included) is masked."""
    logger = logging.getLogger("slotbridge.test")
    handler_filter = telemetry.RedactingFilter()
    caplog.handler.addFilter(handler_filter)
    try:
        logger.warning("attendee %s booked.", address)
    finally:
        caplog.handler.removeFilter(handler_filter)
    [record] = caplog.records
    assert record.getMessage() == "attendee <email> booked."


_PROBE = """
import json, sys
from lib.core import telemetry
with telemetry.invocation("probe", "timer"):
    telemetry.annotate(booking_id="b-1", connection_id=None)
import logging
otel = any(m.startswith("opentelemetry") for m in sys.modules)
handlers = logging.getLogger().handlers
redacted = all(any(isinstance(f, telemetry.RedactingFilter) for f in h.filters) for h in handlers)
state = {"on": telemetry.tracing_on(), "otel": otel, "handlers": len(handlers), "redacted": redacted}
print(json.dumps(state))
"""


def _probe(**settings: str) -> tuple[dict[str, object], str]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLOTBRIDGE_", "APPLICATIONINSIGHTS_"))},
        "AzureWebJobsStorage": "UseDevelopmentStorage=true",
        "SLOTBRIDGE_CLIENT_ID": "c",
        "SLOTBRIDGE_CLIENT_SECRET": "s",
        "SLOTBRIDGE_PUBLIC_BASE_URL": "https://slotbridge.example",
        "SLOTBRIDGE_DATA_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        **settings,
    }
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run(
        [sys.executable, "-c", _PROBE],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    first, _, rest = done.stdout.partition("\n")
    return json.loads(first), rest


def test_telemetry_is_off_by_default_and_loads_no_opentelemetry() -> None:
    state, rest = _probe()
    assert state == {"on": False, "otel": False, "handlers": 0, "redacted": True} and rest == ""
    assert _probe(SLOTBRIDGE_TELEMETRY_EXPORTER="off")[0]["otel"] is False


def test_the_console_exporter_prints_each_invocation_span_with_its_ids() -> None:
    state, printed = _probe(SLOTBRIDGE_TELEMETRY_EXPORTER="console")
    assert state["on"] is True and state["otel"] is True
    assert '"name": "probe"' in printed and '"slotbridge.booking.id": "b-1"' in printed
    assert "slotbridge.connection.id" not in printed  # an id not known is left out, not "None"


def test_an_application_insights_connection_string_turns_on_the_distro_whose_log_export_is_redacted() -> None:
    # Azure's case: the distro adds a log handler (records with their trace context go to Application
    # Insights); it gets the redacting filter too. The ingestion endpoint here answers nothing.
    dead = "http://127.0.0.1:9/"
    state, _ = _probe(
        APPLICATIONINSIGHTS_CONNECTION_STRING=(
            f"InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint={dead};LiveEndpoint={dead}"
        )
    )
    assert state == {"on": True, "otel": True, "handlers": 1, "redacted": True}
