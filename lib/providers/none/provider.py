"""Provider `none`: the host's weekly hours are its whole availability - no calendar is read and
no event is written (the booking carries the `no_calendar_event` warning)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from lib.core.errors import NotFound
from lib.engine.busy_source import BusySource, CalendarBusy, CalendarRef, HostBusy
from lib.providers.accounts import AccountCalendar, AccountOf, AccountRef, SignedInAccount, SignInStart
from lib.providers.base import EventWriter
from lib.providers.change_feed import ChangeFeed
from lib.providers.none import NAME


class _NothingBusy:
    """Every calendar free: there are none to read."""

    def busy(
        self, user_id: str, calendars: Sequence[CalendarRef], start_utc: datetime, end_utc: datetime
    ) -> HostBusy:
        return HostBusy(user_id, tuple(CalendarBusy(ref) for ref in calendars))


class _NoAccounts:
    """No account signs in to `none` and none has calendars: every request is refused as
    `NotFound` (as `events` is), so callers need no special case for this provider."""

    _REFUSAL = "A host without a calendar provider has no accounts."

    def start_sign_in(self, state: str) -> SignInStart:
        raise NotFound(self._REFUSAL)

    def complete_sign_in(self, flow: dict[str, Any], params: dict[str, str]) -> SignedInAccount:
        raise NotFound(self._REFUSAL)

    def save_tokens(self, connection_id: str, account: SignedInAccount) -> None:
        raise NotFound(self._REFUSAL)

    def forget_tokens(self, connection_id: str) -> None:
        return None  # nothing was ever kept

    def calendars(self, account: AccountRef) -> list[AccountCalendar]:
        raise NotFound(self._REFUSAL)

    def default_calendar(self, account: AccountRef) -> AccountCalendar:
        raise NotFound(self._REFUSAL)


class NoCalendarProvider:
    name = NAME
    reads_calendars = False

    def busy_source(self, fallback_time_zone: str, account_of: AccountOf | None = None) -> BusySource:
        return _NothingBusy()

    def write_id(self, booking_id: str) -> str:
        return ""

    def online_meetings(self, is_personal: bool) -> bool:
        return False

    def events(self, account: AccountRef) -> EventWriter:
        raise NotFound("A host without a calendar provider has no calendar events.")

    def accounts(self) -> _NoAccounts:
        return _NoAccounts()

    def change_feed(self, user_id: str, connection_id: str, *, deadline_s: float | None = None) -> ChangeFeed:
        raise NotFound("A host without a calendar provider has no calendar to follow.")
