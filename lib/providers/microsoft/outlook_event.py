"""The Outlook side of a booking: the event JSON, the tag that marks an event as Slotbridge's,
and the Graph calls (create with transactionId, find by tag, check the tag, patch, delete).

The tag is a single-value extended property of our own (a fixed GUID below) whose value is the
booking id. Slotbridge patches or deletes an event only after reading that tag back from it.
Start and end go in the link's time zone (as its Windows id, which every Outlook accepts; UTC
when the zone has no Windows id); `transactionId` is derived from the booking id, so a POST
re-sent after a lost answer returns the first event instead of creating a second.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from lib.adapters.graph import GraphClient, GraphGone, GraphNotFound
from lib.core.timezones import WINDOWS_TO_IANA, parse_iana_zone
from lib.providers.base import EventContent, EventText, TaggedEvent, WrittenEvent
from lib.providers.microsoft.graph_events import MalformedEvent, parse_graph_datetime

SLOTBRIDGE_PROPERTY_GUID = "6f2a1c3e-8d2b-4b7e-9f51-3a7c0e5d9b21"
BOOKING_ID_PROPERTY = f"String {{{SLOTBRIDGE_PROPERTY_GUID}}} Name SlotbridgeBookingId"
TEAMS_LOCATION = "Microsoft Teams Meeting"
_IANA_TO_WINDOWS = {iana: windows for windows, iana in reversed(list(WINDOWS_TO_IANA.items()))}


def transaction_id(booking_id: str) -> str:
    return f"slotbridge-{booking_id}"


def graph_time(instant: datetime, time_zone: str) -> dict[str, str]:
    """dateTimeTimeZone in the link's zone (its Windows id), or UTC when it has none."""
    windows = _IANA_TO_WINDOWS.get(time_zone)
    if windows is None:
        local, zone_name = instant.astimezone(UTC), "UTC"
    else:
        local, zone_name = instant.astimezone(parse_iana_zone(time_zone)), windows
    return {"dateTime": local.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": zone_name}


def event_json(booking_id: str, content: EventContent) -> dict[str, Any]:
    location = TEAMS_LOCATION if content.teams and not content.location else content.location
    invitees = [(content.attendee_name, content.attendee_email)]
    invitees += [(guest.name, guest.email) for guest in content.guests]
    event: dict[str, Any] = {
        "subject": content.subject,
        "body": {"contentType": "text", "content": content.body_text},
        "start": graph_time(content.start_utc, content.time_zone),
        "end": graph_time(content.end_utc, content.time_zone),
        "attendees": [
            {"emailAddress": {"address": email, "name": name}, "type": "required"} for name, email in invitees
        ],
        "showAs": "busy",
        "allowNewTimeProposals": False,
        "transactionId": transaction_id(booking_id),
        "singleValueExtendedProperties": [{"id": BOOKING_ID_PROPERTY, "value": booking_id}],
    }
    if location:
        event["location"] = {"displayName": location}
    if content.private:
        event["sensitivity"] = "private"
    if content.teams:
        event["isOnlineMeeting"] = True
        event["onlineMeetingProvider"] = "teamsForBusiness"
    return event


def time_patch(
    start_utc: datetime, end_utc: datetime, time_zone: str, text: EventText | None = None
) -> dict[str, Any]:
    patch: dict[str, Any] = {"start": graph_time(start_utc, time_zone), "end": graph_time(end_utc, time_zone)}
    if text is not None and text.subject is not None:
        patch["subject"] = text.subject
    if text is not None and text.body_text is not None:
        patch["body"] = {"contentType": "text", "content": text.body_text}
    return patch


def _events_path(calendar_id: str) -> str:
    return f"/me/calendars/{quote(calendar_id, safe='')}/events"


def _event_path(event_id: str) -> str:
    return f"/me/events/{quote(event_id, safe='')}"


def written(answer: dict[str, Any] | None) -> WrittenEvent:
    if not answer or not isinstance(answer.get("id"), str):
        raise ValueError("Graph answered a create without an event id")
    meeting = answer.get("onlineMeeting")
    join_url = meeting.get("joinUrl") if isinstance(meeting, dict) else None
    return WrittenEvent(answer["id"], join_url if isinstance(join_url, str) else None)


def create(client: GraphClient, calendar_id: str, booking_id: str, content: EventContent) -> WrittenEvent:
    """POST the event; re-sent (same transactionId) after a lost answer or a 503 - Graph then
    returns the first one. Raises the Graph client's typed errors."""
    return written(client.post(_events_path(calendar_id), event_json(booking_id, content), idempotent=True))


def find_by_tag(client: GraphClient, calendar_id: str, booking_id: str) -> WrittenEvent | None:
    """The event of `booking_id` in the calendar, found by our tag (after an unknown outcome)."""
    # booking ids are UUIDs (hex and hyphens): nothing in them can close the quoted literal.
    flt = (
        f"singleValueExtendedProperties/Any(ep: ep/id eq '{BOOKING_ID_PROPERTY}' "
        f"and ep/value eq '{booking_id}')"
    )
    page = client.get(_events_path(calendar_id), params={"$filter": flt, "$select": "id,onlineMeeting"})
    for item in page.get("value") or []:
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            return written(item)
    return None


def read_tagged(client: GraphClient, event_id: str) -> TaggedEvent | None:
    """The event's times and our tag (None: no tag, not ours); None if the event is gone."""
    try:
        item = client.get(
            _event_path(event_id),
            params={
                "$select": "start,end,isCancelled",
                "$expand": f"singleValueExtendedProperties($filter=id eq '{BOOKING_ID_PROPERTY}')",
            },
            prefer='outlook.timezone="UTC"',
        )
    except (GraphNotFound, GraphGone):
        return None
    tag = None
    for prop in item.get("singleValueExtendedProperties") or []:
        if isinstance(prop, dict) and str(prop.get("id", "")).lower() == BOOKING_ID_PROPERTY.lower():
            tag = str(prop.get("value"))
    try:
        start, end = parse_graph_datetime(item.get("start")), parse_graph_datetime(item.get("end"))
    except MalformedEvent:
        return TaggedEvent(event_id, tag, None, None, bool(item.get("isCancelled")))
    return TaggedEvent(event_id, tag, start, end, bool(item.get("isCancelled")))


def patch_times(
    client: GraphClient,
    event_id: str,
    start_utc: datetime,
    end_utc: datetime,
    time_zone: str,
    text: EventText | None = None,
) -> None:
    client.patch(_event_path(event_id), time_patch(start_utc, end_utc, time_zone, text))


def delete(client: GraphClient, event_id: str) -> bool:
    """Delete the event; False if it was already gone (404/410)."""
    try:
        client.delete(_event_path(event_id))
    except (GraphNotFound, GraphGone):
        return False
    return True
