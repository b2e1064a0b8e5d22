"""The change feed (`lib.providers.change_feed`) over Google Calendar: `events.watch` channels
and incremental `events.list` with a syncToken.

- subscriptions: a web_hook channel per calendar, addressed to the Google intake
  (`/api/google/notifications`), carrying the clientState as its `token` (Google echoes it in
  `X-Goog-Channel-Token`; the intake verifies it like Graph's). The subscription id is
  `<channel id>~<resource id>`: the intake rebuilds it from the two headers, and stopping a
  channel needs both. A channel cannot be renewed: `renew` answers `SubscriptionNotRenewable`,
  so sync opens a new channel on the calendar and then stops the old one (the renewal timer does
  this well before the expiry Google answered); the syncToken is the calendar's, so no resync.
  Google has no reauthorization, and no way to list channels: every channel sync knows counts as
  live (`our_subscriptions`).
- changes: `start` reads the window (singleEvents=true) and keeps the last page's
  `nextSyncToken`; `changes_since` lists with that token (every page; the next token is on the
  last one); 410 (`fullSyncRequired`) is `CursorExpired`, a full resync. A cursor is
  `<calendar id>\\n<syncToken>` (a Google syncToken names no calendar).
- items that do not block (cancelled, transparent, declined ...) come back as removed ids; event
  ids are `<calendar id>/<event id>`, as bookings store them (`google_event.compose`).
- 404 on the calendar's routes is `CalendarGone`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from lib.core.settings import get_settings
from lib.engine.busy import BusyInterval
from lib.providers.base import CalendarGone, MalformedEvent
from lib.providers.change_feed import (
    BusyItem,
    CursorExpired,
    FeedChanges,
    FeedSubscription,
    SubscribeFailed,
    SubscriptionNotRenewable,
)
from lib.providers.google.client import GoogleCalendarClient, path_segment
from lib.providers.google.errors import GoogleApiError, GoogleGone, GoogleNotFound
from lib.providers.google.google_event import compose
from lib.providers.google.google_events import LIST_FIELDS, busy_interval_from_event, calendar_zone
from lib.providers.google.live_busy import PAGE_SIZE, list_window
from lib.providers.google.push import SUBSCRIPTION_SEPARATOR, subscription_id

log = logging.getLogger("slotbridge.sync.google")

CHANNEL_TTL_S = 7 * 24 * 3600  # Google's longest for events
CURSOR_SEPARATOR = "\n"


class _EveryChannel(frozenset[str]):
    """Google lists no channels: each one sync knows is taken as live."""

    def __contains__(self, item: object) -> bool:
        return isinstance(item, str)


def _zone(name: str | None, page_zone: str | None) -> ZoneInfo:
    return calendar_zone(page_zone, calendar_zone(name, ZoneInfo("UTC")))


def _changes(
    calendar_id: str, items: Iterable[Mapping[str, Any]], zone: ZoneInfo, cursor: str | None
) -> FeedChanges:
    changed: list[BusyItem] = []
    removed: list[str] = []
    for item in items:
        google_id = item.get("id")
        if not isinstance(google_id, str):
            raise MalformedEvent("an event has no id")
        event_id = compose(calendar_id, google_id)
        interval: BusyInterval | None = busy_interval_from_event(item, zone)
        if interval is None:
            removed.append(event_id)
            continue
        all_day = isinstance(item.get("start"), Mapping) and "date" in item["start"]
        changed.append(BusyItem(event_id, interval.start_utc, interval.end_utc, interval.show_as, all_day))
    return FeedChanges(tuple(changed), tuple(removed), cursor)


class GoogleChangeFeed:
    def __init__(self, client: GoogleCalendarClient, connection_id: str) -> None:
        self._client = client
        self._connection_id = connection_id

    def subscribe(self, calendar_id: str, client_state: str) -> FeedSubscription:
        body = {
            "id": str(uuid.uuid4()),
            "type": "web_hook",
            "address": get_settings().google_notification_url,
            "token": client_state,
            "params": {"ttl": str(CHANNEL_TTL_S)},
        }
        try:
            answer = (
                self._client.request(
                    "POST", f"/calendars/{path_segment(calendar_id)}/events/watch", body=body
                )
                or {}
            )
        except GoogleNotFound as error:
            raise CalendarGone(error, error.reason) from error
        except GoogleApiError as error:
            raise SubscribeFailed(error, error.reason) from error
        resource, expiration = answer.get("resourceId"), answer.get("expiration")
        expiration_text = str(expiration or "")
        # Milliseconds since the epoch, ASCII digits only and within datetime's range.
        if not isinstance(resource, str) or not (
            expiration_text.isascii() and expiration_text.isdigit() and len(expiration_text) <= 15
        ):
            raise SubscribeFailed(GoogleApiError("Google's watch answer has no channel."), "no_channel")
        expires = datetime.fromtimestamp(int(expiration_text) / 1000, UTC)
        return FeedSubscription(subscription_id(str(answer.get("id") or body["id"]), resource), expires)

    def renew(self, subscription_id: str) -> datetime:
        raise SubscriptionNotRenewable(
            GoogleApiError("Google channels are not renewed: a new one replaces it."), "renew"
        )

    def reauthorize(self, subscription_id: str) -> None:
        return None  # Google channels need none

    def unsubscribe(self, subscription_id: str) -> None:
        channel_id, _, resource_id = subscription_id.partition(SUBSCRIPTION_SEPARATOR)
        try:
            self._client.request("POST", "/channels/stop", body={"id": channel_id, "resourceId": resource_id})
        except (GoogleNotFound, GoogleGone):
            pass

    def our_subscriptions(self) -> frozenset[str]:
        return _EveryChannel()

    def time_zone(self) -> str | None:
        try:
            name = self._client.get("/users/me/calendarList/primary", {"fields": "timeZone"}).get("timeZone")
        except GoogleApiError:
            return None
        return name if isinstance(name, str) else None

    def start(
        self, calendar_id: str, start_utc: datetime, end_utc: datetime, time_zone: str | None
    ) -> FeedChanges:
        try:
            items, page_zone, token = list_window(self._client, calendar_id, start_utc, end_utc)
        except GoogleNotFound as error:
            raise CalendarGone(error, error.reason) from error
        cursor = f"{calendar_id}{CURSOR_SEPARATOR}{token}" if token else None
        return _changes(calendar_id, items, _zone(time_zone, page_zone), cursor)

    def changes_since(self, cursor: str, time_zone: str | None) -> FeedChanges:
        calendar_id, _, token = cursor.partition(CURSOR_SEPARATOR)
        if not token:
            raise CursorExpired(GoogleApiError("not a Google cursor"), "bad_cursor")
        items: list[dict[str, Any]] = []
        page_zone: str | None = None
        next_token: str | None = None
        params = {"syncToken": token, "singleEvents": "true", "maxResults": PAGE_SIZE, "fields": LIST_FIELDS}
        try:
            for page in self._client.pages(f"/calendars/{path_segment(calendar_id)}/events", params):
                items += [item for item in page.get("items") or [] if isinstance(item, dict)]
                page_zone = page.get("timeZone") if isinstance(page.get("timeZone"), str) else page_zone
                found = page.get("nextSyncToken")
                next_token = found if isinstance(found, str) else None
        except GoogleGone as error:  # 410 fullSyncRequired: the token is no longer valid
            raise CursorExpired(error, error.reason) from error
        except GoogleNotFound as error:
            raise CalendarGone(error, error.reason) from error
        cursor_next = f"{calendar_id}{CURSOR_SEPARATOR}{next_token}" if next_token else None
        if cursor_next is None:
            raise CursorExpired(GoogleApiError("Google gave no next syncToken."), "no_sync_token")
        return _changes(calendar_id, items, _zone(time_zone, page_zone), cursor_next)

    def read_window(
        self, calendar_id: str, start_utc: datetime, end_utc: datetime, time_zone: str | None
    ) -> FeedChanges:
        try:
            items, page_zone, _ = list_window(self._client, calendar_id, start_utc, end_utc)
        except GoogleNotFound as error:
            raise CalendarGone(error, error.reason) from error
        return _changes(calendar_id, items, _zone(time_zone, page_zone), None)
