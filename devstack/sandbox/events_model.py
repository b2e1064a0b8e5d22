"""Events: reading Graph's event JSON into the stored record, rendering it back, and expanding
series into the instances a calendar view shows."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from . import recurrence as rec
from .state import SHOW_AS, Account, Calendar, Event, State, new_id
from .timeutil import format_graph, format_utc_z, localize, parse_datetime, resolve_tz, to_zone, utcnow
from .web import GraphError

EDITABLE = {
    "subject",
    "body",
    "start",
    "end",
    "isAllDay",
    "showAs",
    "recurrence",
    "attendees",
    "location",
    "transactionId",
    "singleValueExtendedProperties",
    "isOnlineMeeting",
    "onlineMeetingProvider",
    "categories",
    "sensitivity",
    "importance",
    "isReminderOn",
    "reminderMinutesBeforeStart",
    "responseRequested",
    "allowNewTimeProposals",
    "hideAttendees",
    "locations",
}


@dataclass
class Instance:
    """One appearance of an event in a calendar view."""

    id: str
    type: str  # singleInstance | occurrence
    start: datetime  # aware
    end: datetime  # aware
    series_master_id: str | None
    local_date: date | None


def _tz(name: str) -> tzinfo:
    tz = resolve_tz(name)
    if tz is None:
        raise GraphError(
            400,
            "TimeZoneNotSupportedException",
            "A valid TimeZone value must be specified. "
            f"The following TimeZone value is not supported: '{name}'.",
        )
    return tz


def _read_dt(value: Any, field: str) -> tuple[datetime, str]:
    if not isinstance(value, dict) or not value.get("dateTime"):
        raise GraphError(400, "ErrorInvalidRequest", f"The '{field}' property with a dateTime is required.")
    tz_name = str(value.get("timeZone") or "UTC")
    tz = _tz(tz_name)
    try:
        dt, has_offset = parse_datetime(str(value["dateTime"]))
    except ValueError:
        raise GraphError(
            400, "BadRequest", f"Cannot convert the literal '{value['dateTime']}' to DateTime."
        ) from None
    if has_offset:
        dt = to_zone(dt, tz)
    return dt, tz_name


def _attendee(a: Any) -> dict[str, Any]:
    email = (a or {}).get("emailAddress") or {}
    if not email.get("address"):
        raise GraphError(400, "ErrorInvalidRecipients", "At least one recipient isn't valid.")
    return {
        "type": a.get("type", "required"),
        "status": {"response": "none", "time": "0001-01-01T00:00:00Z"},
        "emailAddress": {"name": email.get("name", email["address"]), "address": email["address"]},
    }


def apply_fields(ev: Event, body: dict[str, Any], account: Account) -> None:
    """Apply a POST or PATCH body to an event, validating as Graph would."""
    if "subject" in body:
        ev.subject = str(body["subject"] or "")
    if "body" in body:
        b = body["body"] or {}
        ev.body = {
            "contentType": str(b.get("contentType", "text")).lower(),
            "content": str(b.get("content", "")),
        }
    if "start" in body:
        ev.start, ev.start_tz = _read_dt(body["start"], "start")
    if "end" in body:
        ev.end, ev.end_tz = _read_dt(body["end"], "end")
    if "isAllDay" in body:
        ev.is_all_day = bool(body["isAllDay"])
    if "showAs" in body:
        if body["showAs"] not in SHOW_AS:
            raise GraphError(400, "BadRequest", f"Invalid value '{body['showAs']}' for property 'showAs'.")
        ev.show_as = body["showAs"]
    if "recurrence" in body:
        if body["recurrence"] is not None:
            try:
                rec.validate(body["recurrence"])
            except (rec.RecurrenceError, ValueError) as e:
                raise GraphError(400, "ErrorInvalidRequest", f"Invalid recurrence: {e}") from None
        ev.recurrence = body["recurrence"]
    if "attendees" in body:
        ev.attendees = [_attendee(a) for a in body["attendees"] or []]
    if "location" in body:
        loc = body["location"] or {}
        ev.location = {
            "displayName": str(loc.get("displayName", "")),
            "locationType": "default",
            "uniqueIdType": "unknown",
            "address": {},
            "coordinates": {},
        }
    if "transactionId" in body:
        ev.transaction_id = body["transactionId"]
    if "singleValueExtendedProperties" in body:
        for prop in body["singleValueExtendedProperties"] or []:
            if not prop.get("id"):
                raise GraphError(400, "BadRequest", "An extended property needs an id.")
            ev.extended_properties[str(prop["id"])] = str(prop.get("value", ""))
    for key, attr in (
        ("categories", "categories"),
        ("sensitivity", "sensitivity"),
        ("importance", "importance"),
    ):
        if key in body:
            setattr(ev, attr, body[key])
    if "isOnlineMeeting" in body or "onlineMeetingProvider" in body:
        wants = bool(body.get("isOnlineMeeting", ev.is_online_meeting))
        provider = str(body.get("onlineMeetingProvider", ev.online_meeting_provider or "teamsForBusiness"))
        # Teams meetings exist for work accounts only; a personal account keeps a plain event.
        if wants and provider == "teamsForBusiness" and account.kind == "work":
            ev.is_online_meeting = True
            ev.online_meeting_provider = provider
            if ev.online_meeting is None:
                thread = secrets.token_hex(16)
                ev.online_meeting = {
                    "joinUrl": f"https://teams.microsoft.com/l/meetup-join/19%3ameeting_{thread}%40thread.v2/0",
                    "conferenceId": str(secrets.randbelow(10**9)).zfill(9),
                    "tollNumber": None,
                }
        else:
            ev.is_online_meeting = False
            ev.online_meeting_provider = "unknown"
            ev.online_meeting = None
    _check(ev)


def _check(ev: Event) -> None:
    start = localize(ev.start, _tz(ev.start_tz))
    end = localize(ev.end, _tz(ev.end_tz))
    if end < start:
        raise GraphError(
            400, "ErrorInvalidRequest", "The event's end time must not be before its start time."
        )
    if ev.is_all_day and (
        ev.start.time() != datetime.min.time()
        or ev.end.time() != datetime.min.time()
        or ev.end.date() <= ev.start.date()
    ):
        raise GraphError(
            400,
            "ErrorInvalidRequest",
            "Your request can't be completed. All-day events must start and end at midnight and last at "
            "least one day.",
        )


def new_event(state: State, account: Account, calendar: Calendar, body: dict[str, Any]) -> Event:
    if "start" not in body or "end" not in body:
        raise GraphError(400, "ErrorInvalidRequest", "The event needs a start and an end.")
    now = utcnow()
    ev = Event(
        id=new_id("evt"),
        account_id=account.id,
        calendar_id=calendar.id,
        subject="",
        body={"contentType": "text", "content": ""},
        start=datetime.min,
        start_tz="UTC",
        end=datetime.min,
        end_tz="UTC",
        is_all_day=False,
        show_as="busy",
        recurrence=None,
        attendees=[],
        organizer={"emailAddress": {"name": calendar.owner_name, "address": calendar.owner_address}},
        location={
            "displayName": "",
            "locationType": "default",
            "uniqueIdType": "unknown",
            "address": {},
            "coordinates": {},
        },
        transaction_id=None,
        ical_uid="040000008200E00074C5B7101A82E008" + secrets.token_hex(28).upper(),
        is_online_meeting=False,
        online_meeting_provider="unknown",
        online_meeting=None,
        created=now,
        last_modified=now,
        change_key=secrets.token_urlsafe(16),
        seq=0,
    )
    apply_fields(ev, body, account)
    return ev


def touch(state: State, ev: Event) -> None:
    ev.last_modified = utcnow()
    ev.change_key = secrets.token_urlsafe(16)
    ev.seq = state.next_seq()


# --- instances ---------------------------------------------------------------------------------


def occurrence_id(master_id: str, d: date) -> str:
    return f"{master_id}_{d:%Y%m%d}"


def instances(ev: Event, win_start: datetime, win_end: datetime, out_tz: tzinfo) -> list[Instance]:
    """Instances overlapping [win_start, win_end). All-day events float: their midnights are taken
    in the output time zone, as Outlook shows them on whatever day the viewer is in."""
    start_tz = _tz(ev.start_tz)

    def span(d0: date) -> tuple[datetime, datetime]:
        if ev.is_all_day:
            days = (ev.end.date() - ev.start.date()).days
            s = datetime.combine(d0, datetime.min.time(), out_tz)
            return s, datetime.combine(d0 + timedelta(days=days), datetime.min.time(), out_tz)
        duration = localize(ev.end, _tz(ev.end_tz)) - localize(ev.start, start_tz)
        s = localize(datetime.combine(d0, ev.start.time()), start_tz)
        return s, s + duration

    def overlaps(s: datetime, e: datetime) -> bool:
        if s == e:
            return win_start <= s < win_end
        return s < win_end and e > win_start

    if ev.recurrence is None:
        s, e = span(ev.start.date())
        return [Instance(ev.id, "singleInstance", s, e, None, None)] if overlaps(s, e) else []
    series_tz = resolve_tz((ev.recurrence.get("range") or {}).get("recurrenceTimeZone")) or start_tz
    until = win_end.astimezone(series_tz).date() + timedelta(days=1)
    out: list[Instance] = []
    for d in rec.occurrence_dates(ev.recurrence, until=until):
        if d in ev.excluded_dates:
            continue
        s, e = span(d)
        if overlaps(s, e):
            out.append(Instance(occurrence_id(ev.id, d), "occurrence", s, e, ev.id, d))
    return out


def find_instance(ev: Event, d: date) -> Instance | None:
    if ev.recurrence is None or d in ev.excluded_dates:
        return None
    if d not in rec.occurrence_dates(ev.recurrence, until=d):
        return None
    start_tz = _tz(ev.start_tz)
    if ev.is_all_day:
        s = datetime.combine(d, datetime.min.time(), UTC)
        e = s + timedelta(days=(ev.end.date() - ev.start.date()).days)
    else:
        s = localize(datetime.combine(d, ev.start.time()), start_tz)
        e = s + (localize(ev.end, _tz(ev.end_tz)) - localize(ev.start, start_tz))
    return Instance(occurrence_id(ev.id, d), "occurrence", s, e, ev.id, d)


def lookup(state: State, account: Account, event_id: str) -> tuple[Event, Instance | None]:
    """An event or an occurrence of a series, visible to `account`; 404 otherwise."""
    not_found = GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")
    ev = state.events.get(event_id)
    if ev is not None and not ev.deleted and ev.account_id == account.id:
        return ev, None
    master_id, _, suffix = event_id.rpartition("_")
    master = state.events.get(master_id)
    if master is None or master.deleted or master.account_id != account.id or len(suffix) != 8:
        raise not_found
    try:
        d = datetime.strptime(suffix, "%Y%m%d").date()
    except ValueError:
        raise not_found from None
    inst = find_instance(master, d)
    if inst is None:
        raise not_found
    return master, inst


# --- rendering ---------------------------------------------------------------------------------


def _render_time(aware: datetime, naive_local: datetime, all_day: bool, out_name: str) -> dict[str, str]:
    if all_day:
        return {"dateTime": format_graph(naive_local), "timeZone": out_name}
    out_tz = _tz(out_name)
    return {"dateTime": format_graph(to_zone(aware, out_tz)), "timeZone": out_name}


def render(
    ev: Event,
    account: Account,
    out_tz_name: str,
    inst: Instance | None = None,
    expand_props: tuple[bool, str | None] = (False, None),
) -> dict[str, Any]:
    start_tz, end_tz = _tz(ev.start_tz), _tz(ev.end_tz)
    if inst is not None:
        s_aware, e_aware = inst.start, inst.end
        s_local, e_local = s_aware.replace(tzinfo=None), e_aware.replace(tzinfo=None)
        ev_type = inst.type
    else:
        s_aware, e_aware = localize(ev.start, start_tz), localize(ev.end, end_tz)
        s_local, e_local = ev.start, ev.end
        ev_type = "seriesMaster" if ev.recurrence is not None else "singleInstance"
    is_occurrence = ev_type == "occurrence"
    organizer_address = ev.organizer["emailAddress"]["address"]
    content = ev.body.get("content", "")
    out: dict[str, Any] = {
        "@odata.etag": f'W/"{ev.change_key}"',
        "id": inst.id if inst is not None else ev.id,
        "createdDateTime": format_utc_z(ev.created),
        "lastModifiedDateTime": format_utc_z(ev.last_modified),
        "changeKey": ev.change_key,
        "categories": list(ev.categories),
        "transactionId": None if is_occurrence else ev.transaction_id,
        "originalStartTimeZone": ev.start_tz,
        "originalEndTimeZone": ev.end_tz,
        "iCalUId": ev.ical_uid,
        "uid": ev.ical_uid,
        "reminderMinutesBeforeStart": 15,
        "isReminderOn": True,
        "hasAttachments": False,
        "subject": ev.subject,
        "bodyPreview": content[:255],
        "importance": ev.importance,
        "sensitivity": ev.sensitivity,
        "isAllDay": ev.is_all_day,
        "isCancelled": ev.is_cancelled,
        "isOrganizer": organizer_address.lower() == account.email.lower(),
        "responseRequested": True,
        "seriesMasterId": ev.id if is_occurrence else None,
        "showAs": ev.show_as,
        "type": ev_type,
        "webLink": f"https://outlook.office365.com/owa/?itemid={ev.id}&exvsurl=1&path=/calendar/item",
        "onlineMeetingUrl": None,
        "isOnlineMeeting": ev.is_online_meeting,
        "onlineMeetingProvider": ev.online_meeting_provider,
        "allowNewTimeProposals": True,
        "isDraft": False,
        "hideAttendees": False,
        "responseStatus": {"response": "organizer", "time": "0001-01-01T00:00:00Z"},
        "body": dict(ev.body),
        "start": _render_time(s_aware, s_local, ev.is_all_day, out_tz_name),
        "end": _render_time(e_aware, e_local, ev.is_all_day, out_tz_name),
        "location": dict(ev.location),
        "locations": [dict(ev.location)] if ev.location.get("displayName") else [],
        "recurrence": None if is_occurrence else ev.recurrence,
        "attendees": [dict(a) for a in ev.attendees],
        "organizer": ev.organizer,
        "onlineMeeting": ev.online_meeting,
    }
    if is_occurrence and inst is not None:
        out["originalStart"] = format_utc_z(inst.start)
    wanted, only_id = expand_props
    if wanted:
        props = [
            {"id": k, "value": v}
            for k, v in ev.extended_properties.items()
            if only_id is None or k.lower() == only_id.lower()
        ]
        if props:
            out["singleValueExtendedProperties"] = props
    return out
