"""Every event type Slotbridge posts to the product's webhook, in one place: `service.post` takes
only these (mypy checks each call site), and openapi.yaml's `webhooks:` documents exactly these
(tests/unit/contract/test_webhook_events.py). A new event is added here, then documented."""

from __future__ import annotations

from typing import Literal, get_args

EventType = Literal[
    "booking.cancelled",
    "booking.created",
    "booking.moved_in_outlook",
    "booking.rescheduled",
    "calendar.unavailable",
    "connection.connected",
    "connection.disconnected",
    "connection.needs_reconnect",
    "sync.completed",
]
EVENT_TYPES: tuple[EventType, ...] = get_args(EventType)
