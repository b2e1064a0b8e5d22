"""The Google Calendar provider: busy time read live (`live_busy`), the booking's event in Google
Calendar (`google_event`), its accounts (`accounts.GoogleAccounts`) and the change feed sync
follows (`change_feed`), with Google's errors translated into the seam's (`lib.providers.base`).
Which stored account to act as is injected by connections (`account_for`: a connected account,
else NotFound / NeedsReconnect), and so are the needs_reconnect path (`grant_broken`) and where
calendar health goes (`report_health`). The tokens are its own (`tokens.GoogleTokenVault`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from lib.adapters.identity.token_vault import GrantBroken, TokenCacheRecord, TokenFailure
from lib.adapters.keyvault import data_keys
from lib.adapters.storage import storage_account
from lib.core.settings import get_settings, settings_cached
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
from lib.providers.google import NAME, google_event, oauth
from lib.providers.google.accounts import GoogleAccounts
from lib.providers.google.change_feed import GoogleChangeFeed
from lib.providers.google.client import GoogleCalendarClient
from lib.providers.google.errors import (
    GoogleApiError,
    GoogleForbidden,
    GoogleGone,
    GoogleNotFound,
    GoogleUnavailable,
)
from lib.providers.google.live_busy import GoogleBusySource, HealthReport
from lib.providers.google.tokens import GoogleTokenVault

GrantBrokenReport = Callable[[str, str, TokenFailure], None]


@settings_cached
def token_vault() -> GoogleTokenVault:
    return GoogleTokenVault(storage_account().table(TokenCacheRecord), data_keys(), get_settings().google)


class GoogleEvents:
    """`EventWriter` over one account's calendar client."""

    def __init__(self, client: GoogleCalendarClient) -> None:
        self._client = client

    def create(self, calendar_id: str, booking_id: str, content: EventContent) -> WrittenEvent:
        try:
            return google_event.create(self._client, calendar_id, booking_id, content)
        except GoogleForbidden as error:
            raise WriteRefused(error, error.reason) from error
        except GoogleNotFound as error:
            raise CalendarGone(error, error.reason) from error
        except GoogleGone as error:  # a calendar deleted a moment ago
            raise CalendarGone(error, error.reason) from error
        except GoogleUnavailable as error:
            raise WriteUnconfirmed(error, error.reason, maybe_applied=error.maybe_applied) from error
        except GoogleApiError as error:
            raise AccountUnreachable(error, error.reason) from error

    def find_by_tag(self, calendar_id: str, booking_id: str) -> WrittenEvent | None:
        return google_event.find_by_tag(self._client, calendar_id, booking_id)

    def read_tagged(self, event_id: str) -> TaggedEvent | None:
        return google_event.read_tagged(self._client, event_id)

    def patch_times(
        self,
        event_id: str,
        start_utc: datetime,
        end_utc: datetime,
        time_zone: str,
        text: EventText | None = None,
    ) -> None:
        try:
            google_event.patch_times(self._client, event_id, start_utc, end_utc, time_zone, text)
        except (GoogleNotFound, GoogleGone) as error:
            raise EventGone(error, error.reason) from error

    def delete(self, event_id: str) -> bool:
        return google_event.delete(self._client, event_id)


class GoogleProvider:
    name = NAME
    reads_calendars = True

    def __init__(
        self, *, account_for: AccountOf, grant_broken: GrantBrokenReport, report_health: HealthReport
    ) -> None:
        self._account_for = account_for
        self._grant_broken = grant_broken
        self._report_health = report_health
        self._accounts = GoogleAccounts(client_for=self.client, vault=token_vault)

    def client(self, account: AccountRef, deadline_s: float | None = None) -> GoogleCalendarClient:
        """A calendar client acting as the account; a broken grant is reported (needs_reconnect,
        once) and raised as `NeedsReconnect`."""
        settings = get_settings()

        def token(force_refresh: bool) -> str:
            try:
                return token_vault().access_token(account.connection_id, force_refresh=force_refresh)
            except GrantBroken as broken:
                self._grant_broken(account.user_id, account.connection_id, broken.failure)
                raise

        return GoogleCalendarClient(
            settings.google.calendar_base_url,
            oauth.http(),
            token,
            account_key=account.connection_id,
            deadline_s=deadline_s or settings.microsoft.graph_timeout_seconds,
        )

    def busy_source(self, fallback_time_zone: str, account_of: AccountOf | None = None) -> BusySource:
        def client_for(user_id: str, connection_id: str) -> GoogleCalendarClient:
            return self.client((account_of or self._account_for)(user_id, connection_id))

        return GoogleBusySource(fallback_time_zone, client_for=client_for, report_health=self._report_health)

    def write_id(self, booking_id: str) -> str:
        return google_event.event_id(booking_id)

    def online_meetings(self, is_personal: bool) -> bool:
        return True  # Meet: gmail.com accounts as well as Workspace ones

    def events(self, account: AccountRef) -> GoogleEvents:
        return GoogleEvents(self.client(account))

    def accounts(self) -> GoogleAccounts:
        return self._accounts

    def change_feed(
        self, user_id: str, connection_id: str, *, deadline_s: float | None = None
    ) -> GoogleChangeFeed:
        account = self._account_for(user_id, connection_id)
        return GoogleChangeFeed(self.client(account, deadline_s), account.connection_id)
