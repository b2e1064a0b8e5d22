"""The change feed seam: how sync follows a connected account's calendar without naming the
calendar service. A provider that reads calendars gives a `ChangeFeed` for one account
(`CalendarProvider.change_feed`); sync keeps everything it stores (subscription records, the sync
state with its cursor, busy rows) and asks the feed only for what the service must answer.

- subscriptions: `subscribe` a calendar (the service then announces its changes to the intake),
  `renew` to the longest lifetime the service allows, `reauthorize`, `unsubscribe`, and which of
  the account's subscriptions are this deployment's (`our_subscriptions`);
- changes: `start` a feed over a window (every busy item in it, and a cursor), `changes_since` a
  cursor (items added or changed, event ids removed, the next cursor), or `read_window` for a
  calendar whose service keeps no feed (every busy item, no cursor).

A cursor is the service's own string (stored as is); a busy item is what the busy cache keeps of
an event (never a subject, body or attendee). Neutral failures, which sync decides on:
`CursorExpired` (a full resync), `FeedUnsupported` (re-read the window every round),
`SubscriptionGone` (recreate it), `SubscriptionNotRenewable` (replace it: a new one first, then
stop this one), `SubscribeFailed` (sync on, retry the subscription later), and
`CalendarGone` of `lib.providers.base` (the calendar is recorded as missing). Every other failure
is a `SlotbridgeError` with its own problem code.

The notification intake is not behind this seam yet: its wire format (handshake, clientState) is
the Microsoft one, at the edge (`lib.features.sync.intake`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from lib.engine.show_as_policy import ShowAs
from lib.providers.base import ProviderFailure


@dataclass(frozen=True)
class FeedSubscription:
    """A subscription the service created: its id and the expiry it answered (the truth)."""

    subscription_id: str
    expires_at: datetime


@dataclass(frozen=True)
class BusyItem:
    """What blocks time of one event occurrence: UTC start and end, showAs, whether all-day."""

    event_id: str
    start_utc: datetime
    end_utc: datetime
    show_as: ShowAs
    is_all_day: bool


@dataclass(frozen=True)
class FeedChanges:
    """Busy items added or changed (on a full read: all of them), event ids that no longer block
    (deleted, cancelled, not an occurrence) and the cursor to read on from (None: no feed)."""

    changed: tuple[BusyItem, ...]
    removed: tuple[str, ...]
    cursor: str | None


class CursorExpired(ProviderFailure):
    """The service no longer knows the cursor: the calendar must be read again from scratch."""


class FeedUnsupported(ProviderFailure):
    """The service keeps no change feed for this calendar: its window is re-read every round."""


class SubscriptionGone(ProviderFailure):
    """The service no longer knows the subscription."""


class SubscriptionNotRenewable(ProviderFailure):
    """The service cannot extend this subscription (it is still live): sync subscribes the
    calendar anew and only then unsubscribes this one, so no change goes unannounced; the cursor
    belongs to the calendar, so reading goes on from it."""


class SubscribeFailed(ProviderFailure):
    """The service did not create the subscription (`problem`: its error, raised again by sync
    once the calendar has been synced, so the subscription is retried)."""


class ChangeFeed(Protocol):
    """Subscriptions and changes of one connected account's calendars."""

    def subscribe(self, calendar_id: str, client_state: str) -> FeedSubscription:
        """Ask the service to announce the calendar's changes, carrying `client_state` back.
        Raises `CalendarGone`, `SubscribeFailed`, or another `SlotbridgeError`."""
        ...

    def renew(self, subscription_id: str) -> datetime:
        """Extend to the longest lifetime allowed; the expiry answered. `SubscriptionGone`, or
        `SubscriptionNotRenewable` for a service that only replaces subscriptions."""
        ...

    def reauthorize(self, subscription_id: str) -> None:
        """Keep the subscription's notifications flowing. `SubscriptionGone`."""
        ...

    def unsubscribe(self, subscription_id: str) -> None:
        """Delete the subscription; already gone is fine."""
        ...

    def our_subscriptions(self) -> frozenset[str]:
        """Ids of the account's subscriptions that notify this deployment."""
        ...

    def time_zone(self) -> str | None:
        """The account's time zone name (all-day events are its days); None if unreadable."""
        ...

    def start(
        self, calendar_id: str, start_utc: datetime, end_utc: datetime, time_zone: str | None
    ) -> FeedChanges:
        """A new feed over [start_utc, end_utc): every busy item, and its cursor. Raises
        `FeedUnsupported`, `CalendarGone`, or another `SlotbridgeError`."""
        ...

    def changes_since(self, cursor: str, time_zone: str | None) -> FeedChanges:
        """Changes since `cursor`, and the next one. Raises `CursorExpired`, `CalendarGone` …"""
        ...

    def read_window(
        self, calendar_id: str, start_utc: datetime, end_utc: datetime, time_zone: str | None
    ) -> FeedChanges:
        """Every busy item of the window, without a feed (cursor None). `CalendarGone` …"""
        ...
