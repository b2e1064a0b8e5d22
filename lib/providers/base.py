"""The calendar provider seam: what features may ask of a host's calendar service, in terms that
name no service. A provider (`lib/providers/<name>/`) implements `CalendarProvider`; the registry
(`lib.providers.registry`) maps a provider's name - a link host's `calendarProvider`, a
connection's `provider` - to it. Features ask the registry and never branch on a provider's name.

What a provider answers for:
- whether it reads calendars at all (`reads_calendars`; provider `none` offers weekly hours only);
- a live `BusySource` over hosts' conflict calendars (fail closed, see `lib.engine.busy_source`);
- an `EventWriter` for one connected account: the booking's event created (idempotently: the
  booking id is its tag and its write id), found by that tag, read back (whose booking it is),
  moved and deleted;
- its `Accounts` (`lib.providers.accounts`): signing an account in, keeping its tokens, listing
  its calendars.

Accounts are not a provider's to keep: connections stores them and gives a provider what it needs
to act as an account by injection (`lib.features.connections.mailboxes`).

Failures: where a feature decides something on a failure, the provider raises one of the
`ProviderFailure`s below, carrying the service's own error (`problem`) for the case the feature
lets it stand. Any other failure is a `SlotbridgeError` with its problem code (for instance
`OutlookUnavailable`, `NeedsReconnect`), which features let through unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from lib.core.errors import SlotbridgeError
from lib.engine.busy_source import BusySource
from lib.providers.accounts import AccountOf, AccountRef, Accounts

if TYPE_CHECKING:
    from lib.providers.change_feed import ChangeFeed


@dataclass(frozen=True)
class Invitee:
    """Someone invited to a booking's event besides its first attendee."""

    name: str
    email: str


@dataclass(frozen=True)
class EventContent:
    """A booking's event as the attendees and the host see it."""

    subject: str
    body_text: str
    start_utc: datetime
    end_utc: datetime
    time_zone: str  # IANA (the link's)
    attendee_name: str
    attendee_email: str
    location: str
    teams: bool  # an online meeting, where the account can have one
    guests: tuple[Invitee, ...] = ()  # invited too, after the attendee
    private: bool = False  # others who can see the host's calendar see only that it is busy


@dataclass(frozen=True)
class EventText:
    """A moved booking's re-rendered text (None: leave that part as it is)."""

    subject: str | None = None
    body_text: str | None = None


@dataclass(frozen=True)
class WrittenEvent:
    event_id: str
    join_url: str | None


@dataclass(frozen=True)
class TaggedEvent:
    """An event read back: the booking id tagged on it (None: no tag, not Slotbridge's), its times
    (None when the service's answer could not be read) and whether it was cancelled."""

    event_id: str
    tag: str | None
    start_utc: datetime | None
    end_utc: datetime | None
    is_cancelled: bool


class MalformedEvent(ValueError):
    """A service's event without a usable start/end: the caller fails that calendar closed rather
    than guessing. The message names no event content."""


MAX_SUBJECT_LENGTH = 255  # what Outlook keeps of a subject


# --- failures a feature decides on ------------------------------------------------------------


class ProviderFailure(SlotbridgeError):
    """A calendar service's failure that features map to their own answer. `problem` is the
    service's own error (what a caller is told if the feature lets it stand); `reason` is the
    service's own code, for logs only. Unmapped, it is an internal error."""

    def __init__(self, problem: SlotbridgeError, reason: str = "") -> None:
        super().__init__(problem.detail)
        self.problem = problem
        self.reason = reason


class WriteRefused(ProviderFailure):
    """The calendar refuses this account's writes (read-only, or shared without edit rights)."""


class CalendarGone(ProviderFailure):
    """The calendar no longer exists in the account (deleted, or no longer shared)."""


class AccountUnreachable(ProviderFailure):
    """The account's mailbox cannot be reached (a fault of the account, not of the calendar):
    nothing was written."""


class EventGone(ProviderFailure):
    """The event no longer exists (deleted by the host)."""


class WriteUnconfirmed(ProviderFailure):
    """A write the service did not confirm: it was unavailable, or its answer was lost.
    `maybe_applied`: the write may have been carried out (or may still be)."""

    def __init__(self, problem: SlotbridgeError, reason: str = "", *, maybe_applied: bool) -> None:
        super().__init__(problem, reason)
        self.maybe_applied = maybe_applied


# --- the seam -----------------------------------------------------------------------------------


class EventWriter(Protocol):
    """The booking events of one connected account."""

    def create(self, calendar_id: str, booking_id: str, content: EventContent) -> WrittenEvent:
        """Write the event tagged with `booking_id`; a write sent again for the same booking
        returns the first event. Raises `WriteRefused`, `CalendarGone`, `AccountUnreachable`,
        `WriteUnconfirmed`, or another `SlotbridgeError`."""
        ...

    def find_by_tag(self, calendar_id: str, booking_id: str) -> WrittenEvent | None:
        """The event of `booking_id` in the calendar, found by its tag."""
        ...

    def read_tagged(self, event_id: str) -> TaggedEvent | None:
        """The event with the booking id tagged on it; None if the event is gone."""
        ...

    def patch_times(
        self,
        event_id: str,
        start_utc: datetime,
        end_utc: datetime,
        time_zone: str,
        text: EventText | None = None,
    ) -> None:
        """Move the event (and set its subject and text anew, when given); `EventGone` if it no
        longer exists."""
        ...

    def delete(self, event_id: str) -> bool:
        """Delete the event; False if it was already gone."""
        ...


class CalendarProvider(Protocol):
    name: str
    # False: the host's time is its weekly hours only - no calendar is read, no event written.
    reads_calendars: bool

    def busy_source(self, fallback_time_zone: str, account_of: AccountOf | None = None) -> BusySource:
        """Live busy time of hosts' conflict calendars (`fallback_time_zone`: the link's zone,
        for all-day events where the account's own zone cannot be read). `account_of`: the
        accounts the caller has just read and checked (a booking), else connections reads each."""
        ...

    def write_id(self, booking_id: str) -> str:
        """The idempotency id the booking's event write carries (kept on the booking)."""
        ...

    def online_meetings(self, is_personal: bool) -> bool:
        """Whether an account of this kind gets an online meeting with its events (Teams: work
        accounts only; Meet: every Google account)."""
        ...

    def events(self, account: AccountRef) -> EventWriter:
        """The booking events of a connected account, as the caller read and checked it (its
        grant broken: `NeedsReconnect`)."""
        ...

    def accounts(self) -> Accounts:
        """Signing accounts in and listing their calendars (provider `none` refuses: `NotFound`)."""
        ...

    def change_feed(self, user_id: str, connection_id: str, *, deadline_s: float | None = None) -> ChangeFeed:
        """Subscriptions and changes of the user's connected account (`lib.providers.change_feed`;
        `deadline_s`: a shorter bound for best-effort calls). Raises `NotFound` or
        `NeedsReconnect` when the account cannot be acted as."""
        ...
