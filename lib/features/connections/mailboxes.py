"""Reading a host's calendars live, as connections allows: a Graph client only for a stored,
connected account, and what the read found out about the calendars recorded as their health."""

from __future__ import annotations

from lib.adapters.graph import GraphClient
from lib.core.errors import NeedsReconnect, NotFound
from lib.engine.busy_source import CalendarRef
from lib.features.connections import calendar_health
from lib.features.connections.graph_access import graph_for
from lib.features.connections.records import ConnectionStatus
from lib.features.connections.repository import find_connection
from lib.providers.microsoft.live_busy import LiveBusySource


def mailbox_client(user_id: str, connection_id: str) -> GraphClient:
    """A Graph client for the user's connection; NotFound or NeedsReconnect when it cannot be had."""
    connection = find_connection(user_id, connection_id)
    if connection is None:
        raise NotFound("no such connection")
    if connection.status is ConnectionStatus.NEEDS_RECONNECT:
        raise NeedsReconnect("connection needs reconnect")
    return graph_for(connection)


def _report_health(user_id: str, missing: list[CalendarRef], found: list[CalendarRef]) -> None:
    calendar_health.note_reads(
        user_id,
        [(r.connection_id, r.calendar_id) for r in missing],
        [(r.connection_id, r.calendar_id) for r in found],
    )


def live_busy_source(fallback_time_zone: str) -> LiveBusySource:
    """The live busy source for hosts' conflict calendars (`fallback_time_zone`: the link's zone,
    for all-day events of a mailbox whose own zone cannot be read)."""
    return LiveBusySource(fallback_time_zone, client_for=mailbox_client, report_health=_report_health)
