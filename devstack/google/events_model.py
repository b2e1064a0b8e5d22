"""Google event resources: times (`date` for all-day, `dateTime` with an offset or `timeZone`),
validation of writes, expansion of recurring series into instances (`singleEvents=true`), what
blocks time, and how an event is shown to one viewer. Pure apart from reading the config."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrulestr

from .state import ID_ALPHABET, Event
from .web import GoogleError

# Fields a freeBusyReader (or a calendar.events.freebusy token) sees: when, not what.
FREEBUSY_FIELDS = ("kind", "etag", "id", "status", "start", "end", "recurringEventId", "originalStartTime")


def zone(name: str | None, fallback: str = "UTC") -> ZoneInfo:
    try:
        return ZoneInfo(name or fallback)
    except (ZoneInfoNotFoundError, ValueError):
        raise GoogleError(400, "timeZoneInvalid", f"Invalid time zone definition for {name}.") from None


def rfc3339(instant: datetime, tz: ZoneInfo) -> str:
    """As Google writes times: `Z` for UTC, else the zone's offset."""
    text = instant.astimezone(tz).isoformat()
    return text.replace("+00:00", "Z") if tz.key == "UTC" else text


def parse_rfc3339(value: Any, field_name: str) -> datetime:
    """An RFC 3339 timestamp with an offset (timeMin, timeMax, freeBusy bounds)."""
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        raise GoogleError(400, "invalid", f"Bad Request: invalid {field_name}") from None
    if parsed.tzinfo is None:
        raise GoogleError(400, "invalid", f"Bad Request: {field_name} needs a time zone offset")
    return parsed


@dataclass(frozen=True)
class When:
    """One side of an event: an all-day date, or an instant with the zone it is shown in."""

    day: date | None
    instant: datetime | None  # aware
    tz: str

    def absolute(self, cal_tz: str) -> datetime:
        if self.instant is not None:
            return self.instant
        assert self.day is not None
        # All-day events float: they start at midnight in the calendar's time zone.
        return datetime.combine(self.day, time(), zone(cal_tz))


def when(obj: Any, cal_tz: str, side: str) -> When:
    if not isinstance(obj, dict) or not (obj.get("date") or obj.get("dateTime")):
        raise GoogleError(400, "required", f"Missing {side} time.")
    tz = obj.get("timeZone") or cal_tz
    zone(tz)
    if obj.get("date") and obj.get("dateTime"):
        raise GoogleError(400, "invalid", f"Invalid {side} time.")
    if obj.get("date"):
        try:
            return When(date.fromisoformat(str(obj["date"])), None, tz)
        except ValueError:
            raise GoogleError(400, "invalid", f"Invalid {side} time.") from None
    try:
        instant = datetime.fromisoformat(str(obj["dateTime"]))
    except ValueError:
        raise GoogleError(400, "invalid", f"Invalid {side} time.") from None
    if instant.tzinfo is None:
        if not obj.get("timeZone"):
            raise GoogleError(400, "invalid", f"Missing time zone definition for {side} time.")
        instant = instant.replace(tzinfo=zone(tz))
    return When(None, instant, tz)


def validate_times(data: dict[str, Any], cal_tz: str) -> None:
    start, end = when(data.get("start"), cal_tz, "start"), when(data.get("end"), cal_tz, "end")
    if (start.day is None) != (end.day is None):
        raise GoogleError(400, "invalid", "Start and end times must either both be date or both be dateTime.")
    if end.absolute(cal_tz) <= start.absolute(cal_tz):
        raise GoogleError(400, "timeRangeEmpty", "The specified time range is empty.")
    if data.get("recurrence") is not None:
        rules = data["recurrence"]
        if not isinstance(rules, list) or not all(isinstance(r, str) for r in rules):
            raise GoogleError(400, "invalid", "Invalid recurrence rule.")
        if start.instant is not None and not (data["start"].get("timeZone")):
            raise GoogleError(400, "invalid", "Missing time zone definition for start time.")
        try:
            next(iter(_rule_set(data, start)), None)
        except (ValueError, TypeError):
            raise GoogleError(400, "invalid", "Invalid recurrence rule.") from None


def validate_id(event_id: Any) -> str:
    """Google: base32hex characters (a-v, 0-9), 5 to 1024 of them."""
    if (
        not isinstance(event_id, str)
        or not 5 <= len(event_id) <= 1024
        or any(ch not in ID_ALPHABET for ch in event_id)
    ):
        raise GoogleError(400, "invalid", "Invalid resource id value.")
    return event_id


def _rule_set(data: dict[str, Any], start: When) -> Any:
    lines = [str(r) for r in data.get("recurrence") or []]
    if start.instant is not None:
        local = start.instant.astimezone(zone(start.tz))
        return rrulestr("\n".join(lines), dtstart=local, forceset=True)
    assert start.day is not None
    # All-day series: naive midnights; an UNTIL in UTC is read as a date.
    lines = [line.replace("Z;", ";").rstrip("Z") if "UNTIL=" in line else line for line in lines]
    return rrulestr("\n".join(lines), dtstart=datetime.combine(start.day, time()), forceset=True)


def instance_id(master_id: str, start: When) -> str:
    if start.day is not None:
        return f"{master_id}_{start.day.strftime('%Y%m%d')}"
    assert start.instant is not None
    return f"{master_id}_{start.instant.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}"


def _side(w: When) -> dict[str, Any]:
    if w.day is not None:
        return {"date": w.day.isoformat()}
    assert w.instant is not None
    return {"dateTime": w.instant.astimezone(zone(w.tz)).isoformat(), "timeZone": w.tz}


def instances(
    ev: Event, cal_tz: str, lo: datetime | None, hi: datetime | None, horizon: datetime
) -> Iterator[dict[str, Any]]:
    """The instances of a recurring event overlapping [lo, hi) (unbounded sides: the series start,
    `horizon`), each as Google shows it with singleEvents=true; cancelled instances have status
    cancelled."""
    data = ev.data
    start, end = when(data["start"], cal_tz, "start"), when(data["end"], cal_tz, "end")
    duration = end.absolute(cal_tz) - start.absolute(cal_tz)
    rules = _rule_set(data, start)
    upper = min(hi, horizon) if hi is not None else horizon
    for occ in rules:
        if start.day is not None:
            s = When(occ.date(), None, start.tz)
            e = When(
                occ.date() + (end.day - start.day if end.day and start.day else timedelta(days=1)),
                None,
                end.tz,
            )
        else:
            s = When(None, occ, start.tz)
            e = When(None, occ + duration, end.tz)
        s_abs, e_abs = s.absolute(cal_tz), e.absolute(cal_tz)
        if s_abs >= upper:
            return
        if lo is not None and e_abs <= lo:
            continue
        inst = copy.deepcopy(data)
        inst.pop("recurrence", None)
        inst_id = instance_id(ev.id, s)
        inst.update(
            id=inst_id,
            recurringEventId=ev.id,
            originalStartTime=_side(s),
            start=_side(s),
            end=_side(e),
        )
        if inst_id in ev.cancelled_instances or ev.deleted:
            inst["status"] = "cancelled"
        yield inst


def span(data: dict[str, Any], cal_tz: str) -> tuple[datetime, datetime]:
    return when(data["start"], cal_tz, "start").absolute(cal_tz), when(data["end"], cal_tz, "end").absolute(
        cal_tz
    )


def blocks_time(data: dict[str, Any], owner_email: str) -> bool:
    """Busy for freeBusy: not cancelled, not transparent, not declined by the calendar's owner."""
    if data.get("status") == "cancelled" or data.get("transparency") == "transparent":
        return False
    for attendee in data.get("attendees") or []:
        if str(attendee.get("email", "")).lower() == owner_email.lower():
            return bool(attendee.get("responseStatus") != "declined")
    return True


def view(data: dict[str, Any], viewer_email: str, *, freebusy_only: bool, out_tz: str) -> dict[str, Any]:
    """The event as `viewer_email` sees it: `self` flags on organizer/attendees, times shown in
    `out_tz`, and only busy information for free/busy viewers."""
    out = copy.deepcopy(data)
    viewer = viewer_email.lower()
    for key in ("organizer", "creator"):
        if isinstance(out.get(key), dict):
            out[key].pop("self", None)
            if str(out[key].get("email", "")).lower() == viewer:
                out[key]["self"] = True
    for attendee in out.get("attendees") or []:
        attendee.pop("self", None)
        if str(attendee.get("email", "")).lower() == viewer:
            attendee["self"] = True
    for side in ("start", "end"):
        obj = out.get(side)
        if isinstance(obj, dict) and obj.get("dateTime"):
            instant = datetime.fromisoformat(obj["dateTime"])
            if instant.tzinfo is None:
                instant = instant.replace(tzinfo=zone(obj.get("timeZone")))
            obj["dateTime"] = instant.astimezone(zone(out_tz)).isoformat()
    if freebusy_only:
        out = {k: out[k] for k in FREEBUSY_FIELDS if k in out}
    return out


def cancelled_stub(data: dict[str, Any]) -> dict[str, Any]:
    """How a deleted event appears in an incremental sync: its id and status cancelled."""
    keep = ("kind", "etag", "id", "recurringEventId", "originalStartTime")
    out: dict[str, Any] = {k: data[k] for k in keep if k in data}
    out["status"] = "cancelled"
    return out


def merge_patch(target: dict[str, Any], patch: dict[str, Any]) -> None:
    """Patch semantics: objects merge field by field, arrays and scalars replace, null clears."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            merge_patch(target[key], value)
        else:
            target[key] = copy.deepcopy(value)
