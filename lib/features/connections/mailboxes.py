"""Acting as a host's accounts, as connections allows, for the calendar providers: a Graph client
only for a stored, connected account (and, for listing its calendars, for a stored account as it
is), the token vault, and what a read found out about the calendars recorded as their health.
`microsoft_provider()` and `google_provider()` are the providers with these injected (providers
never import features); `functions/wiring.py` installs them."""

from __future__ import annotations

from lib.adapters.graph import GraphClient
from lib.adapters.identity.token_vault import TokenFailure
from lib.engine.busy_source import CalendarRef
from lib.features.connections import calendar_health
from lib.features.connections.graph_access import graph_for_account, token_vault
from lib.features.connections.reconnect import mark_needs_reconnect
from lib.features.connections.records import connected_account
from lib.features.connections.repository import find_connection
from lib.providers.accounts import AccountRef
from lib.providers.google.provider import GoogleProvider
from lib.providers.microsoft.provider import MicrosoftProvider


def _connected_account(user_id: str, connection_id: str) -> AccountRef:
    """The user's connection read now, if it can be acted as; NotFound or NeedsReconnect otherwise."""
    return connected_account(find_connection(user_id, connection_id))


def mailbox_client(user_id: str, connection_id: str) -> GraphClient:
    """A Graph client for the user's connection; NotFound or NeedsReconnect when it cannot be had."""
    return graph_for_account(_connected_account(user_id, connection_id))


def _grant_broken(user_id: str, connection_id: str, failure: TokenFailure) -> None:
    mark_needs_reconnect(user_id, connection_id, failure)


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


def google_provider() -> GoogleProvider:
    return GoogleProvider(
        account_for=_connected_account, grant_broken=_grant_broken, report_health=_report_health
    )
