"""After an event write whose outcome is unknown, the booking looks for its event by the tag
before it gives up - and never creates a second one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from functions.wiring import install_providers
from lib.adapters.graph import GraphAccessDenied, GraphOutcomeUnknown, GraphUnavailable
from lib.core.errors import CalendarNotWritable
from lib.features.bookings import host_calendar
from lib.features.connections.records import ConnectionRecord
from lib.providers import microsoft, registry
from lib.providers.base import EventContent, WrittenEvent
from lib.providers.microsoft import outlook_event
from lib.providers.microsoft.provider import MicrosoftProvider

NOW = datetime(2030, 1, 7, 10, tzinfo=UTC)


class FakeGraph:
    def __init__(
        self, post_error: Exception | None, found: list[dict[str, Any]], get_error: Exception | None = None
    ):
        self.post_error, self.found, self.get_error = post_error, found, get_error
        self.calls: list[tuple[str, str, Any]] = []

    def post(self, path: str, json: Any = None, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("POST", path, kwargs))
        if self.post_error:
            raise self.post_error
        return {"id": "evt-1"}

    def get(self, path: str, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("GET", path, kwargs.get("params")))
        if self.get_error:
            raise self.get_error
        return {"value": self.found}


def _target() -> host_calendar.WriteTarget:
    connection = ConnectionRecord(
        user_id="u", connection_id="c", account_id="a", email="h@contoso.com", created_at=NOW, updated_at=NOW
    )
    return host_calendar.WriteTarget(connection, "cal-1")


def _content() -> EventContent:
    return EventContent("s", "b", NOW, NOW, "UTC", "Ada", "ada@example.com", "", False)


def _write(graph: FakeGraph) -> WrittenEvent:
    # The Microsoft provider as installed, acting through this Graph client.
    registry.install(
        microsoft.NAME,
        lambda: MicrosoftProvider(
            client_for=lambda user, c: graph,
            report_health=_ignore,
            account_client=lambda account: graph,
            token_vault=_no_vault,
        ),
    )
    return host_calendar.write_event(_target(), "b-1", _content())


def _ignore(*_: Any) -> None:
    pass


def _no_vault() -> Any:
    raise AssertionError("a booking's event write keeps no tokens")


@pytest.fixture(autouse=True)
def _providers_restored() -> Iterator[None]:
    yield
    install_providers()


def test_an_unknown_outcome_finds_the_event_by_its_tag() -> None:
    graph = FakeGraph(
        GraphOutcomeUnknown("lost"), [{"id": "evt-9", "onlineMeeting": {"joinUrl": "https://t"}}]
    )
    assert _write(graph) == WrittenEvent("evt-9", "https://t")
    [post, get] = graph.calls
    assert post[2] == {"idempotent": True}
    assert get[1] == "/me/calendars/cal-1/events"
    assert f"ep/id eq '{outlook_event.BOOKING_ID_PROPERTY}' and ep/value eq 'b-1'" in get[2]["$filter"]


def test_no_event_behind_an_unknown_outcome_fails_the_booking() -> None:
    with pytest.raises(GraphUnavailable):
        _write(FakeGraph(GraphUnavailable("down"), []))


def test_a_lookup_that_fails_too_keeps_the_outcome_unknown() -> None:
    with pytest.raises(host_calendar.OutcomeUnknown):
        _write(FakeGraph(GraphUnavailable("down"), [], get_error=GraphUnavailable("down")))


def test_access_denied_is_calendar_not_writable() -> None:
    with pytest.raises(CalendarNotWritable):
        _write(FakeGraph(GraphAccessDenied("no", http_status=403), []))
