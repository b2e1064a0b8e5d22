"""Acting as a host's accounts, as connections allows, for the calendar providers: a Graph client
only for a stored, connected account (and, for listing its calendars, for a stored account as it
is), the token vault, and what a read found out about the calendars recorded as their health.
`microsoft_provider()` is the Microsoft provider with these injected (providers never import
features); `functions/wiring.py` installs it."""

from __future__ import annotations

from lib.adapters.graph import GraphClient
from lib.core.errors import NeedsReconnect, NotFound
from lib.engine.busy_source import CalendarRef
from lib.features.connections import calendar_health
from lib.features.connections.graph_access import graph_for, graph_for_account, token_vault
from lib.features.connections.records import ConnectionStatus
from lib.features.connections.repository import find_connection
from lib.providers.microsoft.provider import MicrosoftProvider


def mailbox_client(user_id: str, connection_id: str) -> GraphClient:
    """A Graph client for the user's connection; NotFound or NeedsReconnect when it cannot be had."""
    connection = find_connection(user_id, connection_id)
    if connection is None:
        raise NotFound("no such connection")
    if connection.status is ConnectionStatus.NEEDS_RECONNECT:
        raise NeedsReconnect("connection needs reconnect")
    return graph_for(connection)


def _report_health(
    user_id: str, missing: list[CalendarRef], found: list[CalendarRef], unreadable: list[CalendarRef]
) -> None:
    calendar_health.note_reads(
        user_id,
        [(r.connection_id, r.calendar_id) for r in missing],
        [(r.connection_id, r.calendar_id) for r in found],
        [(r.connection_id, r.calendar_id) for r in unreadable],
    )


def microsoft_provider() -> MicrosoftProvider:
    return MicrosoftProvider(
        client_for=mailbox_client,
        report_health=_report_health,
        account_client=graph_for_account,
        token_vault=token_vault,
    )
