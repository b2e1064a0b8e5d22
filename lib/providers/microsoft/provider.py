"""The Microsoft 365 / Outlook provider: busy time read live from Graph (`live_busy`), the
booking's event in Outlook (`outlook_event`), the change feed sync follows (`change_feed`) and its
accounts (`accounts.MicrosoftAccounts`), with Graph's errors translated into the seam's
(`lib.providers.base`). How to act as an account is injected (`client_for`: connections' mailbox
client; `account_client`: a stored account's Graph client), and so are the token vault
(`token_vault`) and where calendar health goes (`report_health`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from lib.adapters.graph import (
    GraphAccessDenied,
    GraphClient,
    GraphError,
    GraphGone,
    GraphNotFound,
    GraphUnavailable,
    calendar_gone,
)
from lib.adapters.identity.token_vault import TokenVault
from lib.engine.busy_source import BusySource
from lib.providers.accounts import AccountOf, AccountRef
from lib.providers.base import (
    AccountUnreachable,
    CalendarGone,
    EventContent,
    EventGone,
    EventText,
    TaggedEvent,
    WriteRefused,
    WriteUnconfirmed,
    WrittenEvent,
)
from lib.providers.microsoft import NAME, outlook_event
from lib.providers.microsoft.accounts import AccountClient, MicrosoftAccounts
from lib.providers.microsoft.change_feed import GraphChangeFeed
from lib.providers.microsoft.live_busy import HealthReport, LiveBusySource, MailboxClient

log = logging.getLogger("slotbridge.bookings")


class OutlookEvents:
    """`EventWriter` over one mailbox's Graph client."""

    def __init__(self, client: GraphClient) -> None:
        self._client = client

    def create(self, calendar_id: str, booking_id: str, content: EventContent) -> WrittenEvent:
        try:
            return outlook_event.create(self._client, calendar_id, booking_id, content)
        except GraphAccessDenied as error:
            raise WriteRefused(error, error.graph_code) from error
        except GraphError as error:
            if calendar_gone(error):
                # POST /me/calendars/{id}/events answered ErrorItemNotFound: the calendar is gone.
                raise CalendarGone(error, error.graph_code) from error
            if isinstance(error, GraphNotFound):
                # A 404 about the mailbox, not the calendar (e.g. MailboxNotEnabledForRESTAPI).
                raise AccountUnreachable(error, error.graph_code) from error
            if isinstance(error, GraphUnavailable) or error.maybe_applied:
                raise WriteUnconfirmed(error, error.graph_code, maybe_applied=error.maybe_applied) from error
            raise

    def find_by_tag(self, calendar_id: str, booking_id: str) -> WrittenEvent | None:
        return outlook_event.find_by_tag(self._client, calendar_id, booking_id)

    def read_tagged(self, event_id: str) -> TaggedEvent | None:
        return outlook_event.read_tagged(self._client, event_id)

    def patch_times(
        self,
        event_id: str,
        start_utc: datetime,
        end_utc: datetime,
        time_zone: str,
        text: EventText | None = None,
    ) -> None:
        try:
            outlook_event.patch_times(self._client, event_id, start_utc, end_utc, time_zone, text)
        except (GraphNotFound, GraphGone) as error:
            raise EventGone(error, error.graph_code) from error

    def delete(self, event_id: str) -> bool:
        return outlook_event.delete(self._client, event_id)


class MicrosoftProvider:
    name = NAME
    reads_calendars = True

    def __init__(
        self,
        *,
        client_for: MailboxClient,
        report_health: HealthReport,
        account_client: AccountClient,
        token_vault: Callable[[], TokenVault],
    ) -> None:
        self._client_for = client_for
        self._account_client = account_client
        self._report_health = report_health
        self._accounts = MicrosoftAccounts(client_for=account_client, vault=token_vault)

    def busy_source(self, fallback_time_zone: str, account_of: AccountOf | None = None) -> BusySource:
        def client_for(user_id: str, connection_id: str) -> GraphClient:
            if account_of is None:
                return self._client_for(user_id, connection_id)
            return self._account_client(account_of(user_id, connection_id))

        return LiveBusySource(fallback_time_zone, client_for=client_for, report_health=self._report_health)

    def write_id(self, booking_id: str) -> str:
        return outlook_event.transaction_id(booking_id)

    def online_meetings(self, is_personal: bool) -> bool:
        return not is_personal  # Outlook.com accounts cannot create Teams meetings

    def events(self, account: AccountRef) -> OutlookEvents:
        return OutlookEvents(self._account_client(account))

    def accounts(self) -> MicrosoftAccounts:
        return self._accounts

    def change_feed(
        self, user_id: str, connection_id: str, *, deadline_s: float | None = None
    ) -> GraphChangeFeed:
        client = self._client_for(user_id, connection_id)
        if deadline_s is not None:
            client.deadline_s = deadline_s
        return GraphChangeFeed(client)
