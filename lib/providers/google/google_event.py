"""The Google Calendar side of a booking: the event JSON, its id, the tag that marks it as
Slotbridge's, and the calls (insert, read back, patch, delete).

- The event id is chosen by us from the booking id (base32hex: Google's id alphabet a-v and 0-9),
  so an insert sent again answers 409 `duplicate` and the first event is read back: one event
  per booking, whatever was lost on the way.
- The tag is `extendedProperties.private.slotbridgeBookingId` (only this app sees it); an event
  is moved or deleted only after its tag was read back (`read_tagged`).
- Attendees are invited by Google (`sendUpdates=all`), and so are moves and cancellations.
- A video meeting is Google Meet: `conferenceData.createRequest` (`hangoutsMeet`) with
  `conferenceDataVersion=1`; while Google answers `pending`, the event is read again briefly.
- Google addresses an event by calendar AND id, while the seam keeps one event id: ours is
  `<calendar id>/<event id>` (event ids never hold '/'), in bookings and in the change feed alike.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from lib.core.timezones import parse_iana_zone
from lib.providers.base import EventContent, EventText, MalformedEvent, TaggedEvent, WrittenEvent
from lib.providers.google.client import GoogleCalendarClient, JsonObject, path_segment
from lib.providers.google.errors import GoogleDuplicate, GoogleGone, GoogleNotFound
from lib.providers.google.google_events import parse_google_time

TAG = "slotbridgeBookingId"
MEET_POLLS = 5
MEET_POLL_S = 0.5
UTC_ZONE = ZoneInfo("UTC")  # times read back are aware; a bare one would be UTC


def event_id(booking_id: str) -> str:
    """The booking's event id: base32hex of the booking id, lower case (5-1024 chars of a-v0-9)."""
    return "sb" + base64.b32hexencode(booking_id.encode()).decode().rstrip("=").lower()


def compose(calendar_id: str, google_event_id: str) -> str:
    return f"{calendar_id}/{google_event_id}"


def split(ref: str) -> tuple[str, str]:
    calendar_id, _, google_event_id = ref.rpartition("/")
    if not calendar_id or not google_event_id:
        raise ValueError("not a Google event reference")
    return calendar_id, google_event_id


def _path(calendar_id: str, google_event_id: str | None = None) -> str:
    path = f"/calendars/{path_segment(calendar_id)}/events"
    return path if google_event_id is None else f"{path}/{path_segment(google_event_id)}"


def _when(instant: datetime, time_zone: str) -> dict[str, str]:
    local = instant.astimezone(parse_iana_zone(time_zone))
    return {"dateTime": local.isoformat(timespec="seconds"), "timeZone": time_zone}


def event_json(booking_id: str, content: EventContent) -> JsonObject:
    invitees = [(content.attendee_name, content.attendee_email)]
    invitees += [(guest.name, guest.email) for guest in content.guests]
    event: JsonObject = {
        "id": event_id(booking_id),
        "summary": content.subject,
        "description": content.body_text,
        "start": _when(content.start_utc, content.time_zone),
        "end": _when(content.end_utc, content.time_zone),
        "attendees": [{"email": email, "displayName": name} for name, email in invitees],
        "transparency": "opaque",
        "guestsCanModify": False,
        "extendedProperties": {"private": {TAG: booking_id}},
    }
    if content.location:
        event["location"] = content.location
    if content.private:  # others who see the calendar see only that the time is busy
        event["visibility"] = "private"
    if content.teams:
        event["conferenceData"] = {
            "createRequest": {
                "requestId": event_id(booking_id),
                "conferenceSolutionKey": {"type": "hangoutsMeet"},
            }
        }
    return event


def _join_url(event: JsonObject) -> str | None:
    link = event.get("hangoutLink")
    if isinstance(link, str):
        return link
    data = event.get("conferenceData")
    for point in (data.get("entryPoints") if isinstance(data, dict) else None) or []:
        if (
            isinstance(point, dict)
            and point.get("entryPointType") == "video"
            and isinstance(point.get("uri"), str)
        ):
            return str(point["uri"])
    return None


def _meet_pending(event: JsonObject) -> bool:
    data = event.get("conferenceData")
    request = data.get("createRequest") if isinstance(data, dict) else None
    status = request.get("status") if isinstance(request, dict) else None
    return isinstance(status, dict) and status.get("statusCode") == "pending"


def _tag(event: JsonObject) -> str | None:
    props = event.get("extendedProperties")
    private = props.get("private") if isinstance(props, dict) else None
    value = private.get(TAG) if isinstance(private, dict) else None
    return value if isinstance(value, str) else None


def create(
    client: GoogleCalendarClient,
    calendar_id: str,
    booking_id: str,
    content: EventContent,
    sleep: Callable[[float], None] = time.sleep,
) -> WrittenEvent:
    """Insert the event (or, on 409, find the one a first attempt inserted); wait briefly for a
    Meet link Google is still creating. Raises the client's typed errors."""
    params = {"sendUpdates": "all", "conferenceDataVersion": 1}
    try:
        event = (
            client.request("POST", _path(calendar_id), params=params, body=event_json(booking_id, content))
            or {}
        )
    except GoogleDuplicate:
        found = _read(client, calendar_id, event_id(booking_id))
        if found is None or _tag(found) != booking_id:
            raise
        event = found
    polls = 0
    while content.teams and _meet_pending(event) and polls < MEET_POLLS:
        polls += 1
        sleep(MEET_POLL_S)
        event = _read(client, calendar_id, event_id(booking_id)) or event
    return WrittenEvent(compose(calendar_id, str(event.get("id") or event_id(booking_id))), _join_url(event))


def _read(client: GoogleCalendarClient, calendar_id: str, google_event_id: str) -> JsonObject | None:
    try:
        return client.get(_path(calendar_id, google_event_id))
    except (GoogleNotFound, GoogleGone):
        return None


def find_by_tag(client: GoogleCalendarClient, calendar_id: str, booking_id: str) -> WrittenEvent | None:
    event = _read(client, calendar_id, event_id(booking_id))
    if event is None or event.get("status") == "cancelled" or _tag(event) != booking_id:
        return None
    return WrittenEvent(compose(calendar_id, event_id(booking_id)), _join_url(event))


def read_tagged(client: GoogleCalendarClient, ref: str) -> TaggedEvent | None:
    calendar_id, google_event_id = split(ref)
    event = _read(client, calendar_id, google_event_id)
    if event is None:
        return None
    cancelled = event.get("status") == "cancelled"
    try:
        start, start_day = parse_google_time(event.get("start"), UTC_ZONE)
        end, _ = parse_google_time(event.get("end"), UTC_ZONE)
    except MalformedEvent:
        return TaggedEvent(ref, _tag(event), None, None, cancelled)
    if start_day:  # an all-day event is no booking's time
        return TaggedEvent(ref, _tag(event), None, None, cancelled)
    return TaggedEvent(ref, _tag(event), start, end, cancelled)


def patch_times(
    client: GoogleCalendarClient,
    ref: str,
    start_utc: datetime,
    end_utc: datetime,
    time_zone: str,
    text: EventText | None = None,
) -> None:
    """Move the event (attendees told), with its re-rendered summary and description when given.
    Raises `GoogleNotFound` / `GoogleGone` when it is gone."""
    calendar_id, google_event_id = split(ref)
    body: JsonObject = {"start": _when(start_utc, time_zone), "end": _when(end_utc, time_zone)}
    if text is not None and text.subject is not None:
        body["summary"] = text.subject
    if text is not None and text.body_text is not None:
        body["description"] = text.body_text
    client.request("PATCH", _path(calendar_id, google_event_id), params={"sendUpdates": "all"}, body=body)


def delete(client: GoogleCalendarClient, ref: str) -> bool:
    """Delete the event (attendees told); False if it was already gone."""
    calendar_id, google_event_id = split(ref)
    try:
        client.request("DELETE", _path(calendar_id, google_event_id), params={"sendUpdates": "all"})
    except (GoogleNotFound, GoogleGone):
        return False
    return True
