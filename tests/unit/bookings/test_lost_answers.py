"""After an event write whose outcome is unknown, the booking looks for its event by the tag
before it gives up - and never creates a second one."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from lib.adapters.graph import GraphAccessDenied, GraphOutcomeUnknown, GraphUnavailable
from lib.core.errors import CalendarNotWritable
from lib.features.bookings import host_calendar
from lib.features.connections.records import ConnectionRecord
from lib.providers.microsoft import outlook_event

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


def _content() -> outlook_event.EventContent:
    return outlook_event.EventContent("s", "b", NOW, NOW, "UTC", "Ada", "ada@example.com", "", False)


def _write(monkeypatch: pytest.MonkeyPatch, graph: FakeGraph) -> outlook_event.WrittenEvent:
    monkeypatch.setattr(host_calendar, "graph", lambda connection: graph)
    return host_calendar.write_event(_target(), "b-1", _content())


def test_an_unknown_outcome_finds_the_event_by_its_tag(monkeypatch: pytest.MonkeyPatch) -> None:
    graph = FakeGraph(
        GraphOutcomeUnknown("lost"), [{"id": "evt-9", "onlineMeeting": {"joinUrl": "https://t"}}]
    )
    assert _write(monkeypatch, graph) == outlook_event.WrittenEvent("evt-9", "https://t")
    [post, get] = graph.calls
    assert post[2] == {"idempotent": True}
    assert get[1] == "/me/calendars/cal-1/events"
    assert f"ep/id eq '{outlook_event.BOOKING_ID_PROPERTY}' and ep/value eq 'b-1'" in get[2]["$filter"]


def test_no_event_behind_an_unknown_outcome_fails_the_booking(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(GraphUnavailable):
        _write(monkeypatch, FakeGraph(GraphUnavailable("down"), []))


def test_a_lookup_that_fails_too_keeps_the_outcome_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(host_calendar.OutcomeUnknown):
        _write(monkeypatch, FakeGraph(GraphUnavailable("down"), [], get_error=GraphUnavailable("down")))


def test_access_denied_is_calendar_not_writable(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(CalendarNotWritable):
        _write(monkeypatch, FakeGraph(GraphAccessDenied("no", http_status=403), []))
