"""Correlation ids and log redaction."""

from __future__ import annotations

import logging

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
