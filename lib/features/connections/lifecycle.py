"""Listing and disconnecting connections."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lib.adapters.storage import storage_account
from lib.adapters.storage.tables import RecordNotFound
from lib.features.connections import events, hooks, host_view
from lib.features.connections.calendar_health import missing_view
from lib.features.connections.calendars import forget_connection_calendars
from lib.features.connections.records import AccountLinkRecord, ConnectionRecord
from lib.features.connections.repository import calendar_settings, user_connections
from lib.providers.registry import provider_for

if TYPE_CHECKING:
    from lib.features.connections.calendar_health import MissingCalendar

log = logging.getLogger("slotbridge.connections")


@dataclass(frozen=True)
class ConnectionView:
    """A connection with the chosen calendars of its account that Outlook no longer has."""

    connection: ConnectionRecord
    missing_calendars: list[MissingCalendar]


def list_connections(user_id: str) -> list[ConnectionView]:
    connections = user_connections(user_id)
    missing = missing_view(calendar_settings(user_id), connections) if connections else []
    return [
        ConnectionView(c, [m for m in missing if m.connection_id == c.connection_id]) for c in connections
    ]


def disconnect(user_id: str, connection_id: str) -> None:
    """Tokens and cached data wiped, calendars removed from the settings, the account freed.
    Events already written stay in the calendar: nothing is deleted there."""
    connections = storage_account().table(ConnectionRecord)
    connection = connections.find(user_id, connection_id)
    if connection is None:
        raise RecordNotFound("No such connection for this user.")
    events.announce_disconnected(connection)
    hooks.disconnecting.publish(hooks.ConnectionRef(user_id, connection_id))
    forget_connection_calendars(user_id, connection_id)
    provider_for(connection.provider).accounts().forget_tokens(connection_id)
    links = storage_account().table(AccountLinkRecord)
    link = links.find(connection.account_id, "link")
    if link is not None and link.connection_id == connection_id:
        links.delete(link)
    connections.delete(connection)
    host_view.forget(user_id)
    log.info("Disconnected connection %s", connection_id)
