"""The change feed (`lib.providers.change_feed`) over Microsoft Graph: subscriptions on
`me/calendars/{id}/events` (created, updated, deleted) and `calendarView/delta` rounds, with
Graph's answers read into busy items and Graph's errors into the seam's.

- subscriptions: the expiry Graph returns is the truth. Outlook events allow at most 10080
  minutes; we ask for a little less so clock skew never makes Graph refuse. Graph runs the
  validation handshake against the intake (`SLOTBRIDGE_NOTIFICATION_URL`) before it answers.
- changes: a delta round of the window (`start`), its deltaLink is the cursor (`changes_since`;
  `syncStateNotFound`, `resyncRequired` and 410 mean `CursorExpired`); a calendar whose delta
  Graph refuses (400) is `FeedUnsupported` and re-read through calendarView (`read_window`).
  Items marked `@removed`, cancelled ones and series masters come back as removed ids.
- a 404 `ErrorItemNotFound` on the calendar's own routes is `CalendarGone`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from lib.adapters.graph import (
    GraphBadRequest,
    GraphClient,
    GraphError,
    GraphGone,
    GraphNotFound,
    calendar_gone,
)
from lib.core.settings import get_settings
from lib.core.timezones import UnknownTimeZone, parse_iana_zone, windows_to_iana
from lib.providers.base import CalendarGone
from lib.providers.change_feed import (
    BusyItem,
    CursorExpired,
    FeedChanges,
    FeedSubscription,
    FeedUnsupported,
    SubscribeFailed,
    SubscriptionGone,
)
from lib.providers.microsoft.graph_events import EVENT_FIELDS, busy_interval_from_event

log = logging.getLogger("slotbridge.sync.graph")

MAX_LIFETIME = timedelta(minutes=10080)
REQUESTED_LIFETIME = timedelta(minutes=10070)
CHANGE_TYPES = "created,updated,deleted"
PREFER = ['outlook.timezone="UTC"', "odata.maxpagesize=100"]
VIEW_FIELDS = f"id,{EVENT_FIELDS}"


def calendar_resource(calendar_id: str) -> str:
    return f"me/calendars/{quote(calendar_id, safe='')}/events"


def graph_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


def parse_expiry(value: Any) -> datetime:
    text = str(value or "").rstrip("Z")
    if "." in text:
        head, fraction = text.split(".", 1)
        text = f"{head}.{fraction[:6]}"
    parsed = datetime.fromisoformat(text)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def requested_expiry(now: datetime | None = None) -> datetime:
    return (now or datetime.now(UTC)) + REQUESTED_LIFETIME


def mailbox_zone(name: str | None) -> ZoneInfo:
    if name:
        try:
            return parse_iana_zone(windows_to_iana(name))
        except UnknownTimeZone:
            log.warning("Mailbox time zone is not known; all-day events are taken in UTC")
    return ZoneInfo("UTC")


def busy_item(event: Mapping[str, Any], zone: ZoneInfo) -> BusyItem | None:
    """What an event occurrence blocks; None if it never blocks (cancelled) or is not an
    occurrence (a series master). Raises `MalformedEvent`: the round fails closed."""
    if event.get("type") == "seriesMaster" or not event.get("id"):
        return None
    interval = busy_interval_from_event(event, zone)
    if interval is None:
        return None
    return BusyItem(
        event_id=str(event["id"]),
        start_utc=interval.start_utc.astimezone(UTC),
        end_utc=interval.end_utc.astimezone(UTC),
        show_as=interval.show_as,
        is_all_day=bool(event.get("isAllDay")),
    )


def _changes(items: Iterable[Mapping[str, Any]], zone: ZoneInfo, cursor: str | None) -> FeedChanges:
    changed: list[BusyItem] = []
    removed: list[str] = []
    for item in items:
        event_id = item.get("id")
        if not isinstance(event_id, str) or not event_id:
            continue
        if "@removed" in item:
            removed.append(event_id)
            continue
        found = busy_item(item, zone)
        if found is None:
            removed.append(event_id)  # cancelled: it no longer blocks
        else:
            changed.append(found)
    return FeedChanges(tuple(changed), tuple(removed), cursor)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _calendar_path(calendar_id: str) -> str:
    return f"/me/calendars/{quote(calendar_id, safe='')}"


def _subscription_path(subscription_id: str) -> str:
    return f"/subscriptions/{quote(subscription_id, safe='')}"


def _raise_if_calendar_gone(error: GraphError) -> None:
    if calendar_gone(error):
        raise CalendarGone(error, error.graph_code) from error


class GraphChangeFeed:
    """`ChangeFeed` over one mailbox's Graph client."""

    def __init__(self, client: GraphClient) -> None:
        self._client = client

    def subscribe(self, calendar_id: str, client_state: str) -> FeedSubscription:
        settings = get_settings()
        body = {
            "changeType": CHANGE_TYPES,
            "notificationUrl": settings.notification_url,
            "lifecycleNotificationUrl": settings.lifecycle_notification_url,
            "resource": calendar_resource(calendar_id),
            "expirationDateTime": graph_time(requested_expiry()),
            "clientState": client_state,
            "latestSupportedTlsVersion": "v1_2",
        }
        try:
            answer = self._client.post("/subscriptions", json=body) or {}
        except GraphError as error:
            _raise_if_calendar_gone(error)
            raise SubscribeFailed(error, error.graph_code) from error
        return FeedSubscription(str(answer["id"]), parse_expiry(answer.get("expirationDateTime")))

    def renew(self, subscription_id: str) -> datetime:
        """PATCH the expiry to the longest lifetime allowed (which also reauthorizes)."""
        try:
            answer = self._client.patch(
                _subscription_path(subscription_id), {"expirationDateTime": graph_time(requested_expiry())}
            )
        except GraphNotFound as error:
            raise SubscriptionGone(error, error.graph_code) from error
        return parse_expiry((answer or {}).get("expirationDateTime"))

    def reauthorize(self, subscription_id: str) -> None:
        try:
            self._client.post(f"{_subscription_path(subscription_id)}/reauthorize", idempotent=True)
        except GraphNotFound as error:
            raise SubscriptionGone(error, error.graph_code) from error

    def unsubscribe(self, subscription_id: str) -> None:
        try:
            self._client.delete(_subscription_path(subscription_id))
        except GraphNotFound:
            pass

    def our_subscriptions(self) -> frozenset[str]:
        url = get_settings().notification_url
        return frozenset(
            str(s.get("id"))
            for s in self._client.iter_items("/subscriptions")
            if s.get("notificationUrl") == url
        )

    def time_zone(self) -> str | None:
        try:
            value = self._client.get("/me/mailboxSettings", params={"$select": "timeZone"}).get("timeZone")
        except GraphError as error:
            log.warning("Mailbox time zone unreadable (%s); all-day events taken in UTC", error.graph_code)
            return None
        return value if isinstance(value, str) and value else None

    def start(
        self, calendar_id: str, start_utc: datetime, end_utc: datetime, time_zone: str | None
    ) -> FeedChanges:
        try:
            result = self._client.delta(
                f"{_calendar_path(calendar_id)}/calendarView/delta",
                params={"startDateTime": _iso(start_utc), "endDateTime": _iso(end_utc)},
                prefer=PREFER,
            )
        except GraphBadRequest as refused:
            raise FeedUnsupported(refused, refused.graph_code) from refused
        except GraphError as error:
            _raise_if_calendar_gone(error)
            raise
        return _changes(result.items, mailbox_zone(time_zone), result.delta_link)

    def changes_since(self, cursor: str, time_zone: str | None) -> FeedChanges:
        try:
            result = self._client.delta(cursor, prefer=PREFER)
        except GraphGone as gone:
            raise CursorExpired(gone, gone.graph_code or str(gone.http_status)) from gone
        except GraphError as error:
            _raise_if_calendar_gone(error)
            raise
        return _changes(result.items, mailbox_zone(time_zone), result.delta_link)

    def read_window(
        self, calendar_id: str, start_utc: datetime, end_utc: datetime, time_zone: str | None
    ) -> FeedChanges:
        try:
            items = list(
                self._client.iter_items(
                    f"{_calendar_path(calendar_id)}/calendarView",
                    params={
                        "startDateTime": _iso(start_utc),
                        "endDateTime": _iso(end_utc),
                        "$select": VIEW_FIELDS,
                        "$top": 1000,
                    },
                    prefer='outlook.timezone="UTC"',
                )
            )
        except GraphError as error:
            _raise_if_calendar_gone(error)
            raise
        return _changes(items, mailbox_zone(time_zone), None)
