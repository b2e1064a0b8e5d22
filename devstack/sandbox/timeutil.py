"""Time zone names and Graph's date-time formats.

Graph speaks Windows time zone names ("Pacific Standard Time") and IANA names alike, and formats
`dateTime` with seven fractional digits and no offset. The sandbox keeps its own small table on
purpose: an emulator that shared the code under test's mapping would hide that code's mistakes.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WINDOWS_TO_IANA: dict[str, str] = {
    "UTC": "UTC",
    "Coordinated Universal Time": "UTC",
    "Dateline Standard Time": "Etc/GMT+12",
    "Hawaiian Standard Time": "Pacific/Honolulu",
    "Alaskan Standard Time": "America/Anchorage",
    "Pacific Standard Time": "America/Los_Angeles",
    "US Mountain Standard Time": "America/Phoenix",
    "Mountain Standard Time": "America/Denver",
    "Central Standard Time": "America/Chicago",
    "Central America Standard Time": "America/Guatemala",
    "Canada Central Standard Time": "America/Regina",
    "Eastern Standard Time": "America/New_York",
    "Atlantic Standard Time": "America/Halifax",
    "Newfoundland Standard Time": "America/St_Johns",
    "E. South America Standard Time": "America/Sao_Paulo",
    "Argentina Standard Time": "America/Argentina/Buenos_Aires",
    "GMT Standard Time": "Europe/London",
    "Greenwich Standard Time": "Atlantic/Reykjavik",
    "W. Europe Standard Time": "Europe/Berlin",
    "Central Europe Standard Time": "Europe/Budapest",
    "Central European Standard Time": "Europe/Warsaw",
    "Romance Standard Time": "Europe/Paris",
    "GTB Standard Time": "Europe/Bucharest",
    "FLE Standard Time": "Europe/Kyiv",
    "E. Europe Standard Time": "Europe/Chisinau",
    "Israel Standard Time": "Asia/Jerusalem",
    "South Africa Standard Time": "Africa/Johannesburg",
    "Russian Standard Time": "Europe/Moscow",
    "Arabian Standard Time": "Asia/Dubai",
    "Pakistan Standard Time": "Asia/Karachi",
    "India Standard Time": "Asia/Kolkata",
    "Nepal Standard Time": "Asia/Kathmandu",
    "SE Asia Standard Time": "Asia/Bangkok",
    "China Standard Time": "Asia/Shanghai",
    "Singapore Standard Time": "Asia/Singapore",
    "Taipei Standard Time": "Asia/Taipei",
    "Tokyo Standard Time": "Asia/Tokyo",
    "Korea Standard Time": "Asia/Seoul",
    "AUS Central Standard Time": "Australia/Darwin",
    "E. Australia Standard Time": "Australia/Brisbane",
    "AUS Eastern Standard Time": "Australia/Sydney",
    "New Zealand Standard Time": "Pacific/Auckland",
}

_LOWER = {k.lower(): v for k, v in WINDOWS_TO_IANA.items()}

_DT = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?)?"
    r"(Z|[+-]\d{2}:?\d{2})?$"
)


def resolve_tz(name: str | None) -> tzinfo | None:
    """A tzinfo for a Windows or IANA name, or None when neither."""
    if not name:
        return None
    iana = _LOWER.get(name.strip().lower(), name.strip())
    if iana.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(iana)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def parse_datetime(value: str) -> tuple[datetime, bool]:
    """Parse an ISO 8601 date-time as Graph accepts it (up to 7 fractional digits).

    Returns (datetime, has_offset); a value with an offset or Z comes back aware in UTC,
    one without comes back naive."""
    m = _DT.match(value.strip())
    if not m:
        raise ValueError(f"not an ISO 8601 date-time: {value!r}")
    y, mo, d, hh, mm, ss, frac, off = m.groups()
    micro = int((frac or "0").ljust(7, "0")[:6])
    dt = datetime(int(y), int(mo), int(d), int(hh or 0), int(mm or 0), int(ss or 0), micro)
    if off is None:
        return dt, False
    if off == "Z":
        return dt.replace(tzinfo=UTC), True
    sign = 1 if off[0] == "+" else -1
    digits = off[1:].replace(":", "")
    delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return (dt - sign * delta).replace(tzinfo=UTC), True


def parse_query_datetime(value: str) -> datetime:
    """startDateTime/endDateTime of calendarView: an offset wins, none means UTC (as documented)."""
    dt, has_offset = parse_datetime(value)
    return dt if has_offset else dt.replace(tzinfo=UTC)


def format_graph(dt: datetime) -> str:
    """Graph's dateTime: seven fractional digits, no offset."""
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond:06d}0"


def format_utc_z(dt: datetime) -> str:
    """Timestamps such as createdDateTime and expirationDateTime: UTC with seven digits and Z."""
    return format_graph(dt.astimezone(UTC)) + "Z"


def localize(naive: datetime, tz: tzinfo) -> datetime:
    """Attach a zone to a local wall time (fold=0: the first of an ambiguous hour)."""
    return naive.replace(tzinfo=tz)


def to_zone(aware: datetime, tz: tzinfo) -> datetime:
    return aware.astimezone(tz).replace(tzinfo=None)


def utcnow() -> datetime:
    return datetime.now(UTC)


def midnight(d: date) -> datetime:
    return datetime.combine(d, time())
