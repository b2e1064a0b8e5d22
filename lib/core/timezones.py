"""Time zone names: Windows (what Outlook's mailboxSettings returns) to IANA, and safe IANA parsing.

Outlook reports a mailbox's zone as a Windows id ("Pacific Standard Time"); everything else in
Slotbridge (links, booking pages, the slot engine) speaks IANA ("America/Los_Angeles"). The table
below is the Unicode CLDR `windowsZones` mapping for territory "001" (the one golden zone per
Windows id). Where CLDR's canonical id is an IANA backward-compatibility link (CLDR keeps
"Asia/Calcutta", "Europe/Kiev", ...), the current IANA primary name is used instead, because
browsers and the viewer's `timezone=` parameter use the modern names.
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from typing import Any
from zoneinfo import ZoneInfo

from lib.core.errors import FieldError, ValidationFailed

# Windows time zone id -> IANA zone (CLDR windowsZones, territory "001").
WINDOWS_TO_IANA: dict[str, str] = {
    "Dateline Standard Time": "Etc/GMT+12",
    "UTC-11": "Etc/GMT+11",
    "Aleutian Standard Time": "America/Adak",
    "Hawaiian Standard Time": "Pacific/Honolulu",
    "Marquesas Standard Time": "Pacific/Marquesas",
    "Alaskan Standard Time": "America/Anchorage",
    "UTC-09": "Etc/GMT+9",
    "Pacific Standard Time (Mexico)": "America/Tijuana",
    "UTC-08": "Etc/GMT+8",
    "Pacific Standard Time": "America/Los_Angeles",
    "US Mountain Standard Time": "America/Phoenix",
    "Mountain Standard Time (Mexico)": "America/Mazatlan",
    "Mountain Standard Time": "America/Denver",
    "Yukon Standard Time": "America/Whitehorse",
    "Central America Standard Time": "America/Guatemala",
    "Central Standard Time": "America/Chicago",
    "Easter Island Standard Time": "Pacific/Easter",
    "Central Standard Time (Mexico)": "America/Mexico_City",
    "Canada Central Standard Time": "America/Regina",
    "SA Pacific Standard Time": "America/Bogota",
    "Eastern Standard Time (Mexico)": "America/Cancun",
    "Eastern Standard Time": "America/New_York",
    "Haiti Standard Time": "America/Port-au-Prince",
    "Cuba Standard Time": "America/Havana",
    "US Eastern Standard Time": "America/Indiana/Indianapolis",  # CLDR: America/Indianapolis
    "Turks And Caicos Standard Time": "America/Grand_Turk",
    "Paraguay Standard Time": "America/Asuncion",
    "Atlantic Standard Time": "America/Halifax",
    "Venezuela Standard Time": "America/Caracas",
    "Central Brazilian Standard Time": "America/Cuiaba",
    "SA Western Standard Time": "America/La_Paz",
    "Pacific SA Standard Time": "America/Santiago",
    "Newfoundland Standard Time": "America/St_Johns",
    "Tocantins Standard Time": "America/Araguaina",
    "E. South America Standard Time": "America/Sao_Paulo",
    "SA Eastern Standard Time": "America/Cayenne",
    "Argentina Standard Time": "America/Argentina/Buenos_Aires",  # CLDR: America/Buenos_Aires
    "Greenland Standard Time": "America/Nuuk",  # CLDR: America/Godthab
    "Montevideo Standard Time": "America/Montevideo",
    "Magallanes Standard Time": "America/Punta_Arenas",
    "Saint Pierre Standard Time": "America/Miquelon",
    "Bahia Standard Time": "America/Bahia",
    "UTC-02": "Etc/GMT+2",
    "Azores Standard Time": "Atlantic/Azores",
    "Cape Verde Standard Time": "Atlantic/Cape_Verde",
    "UTC": "Etc/UTC",
    "GMT Standard Time": "Europe/London",
    "Greenwich Standard Time": "Atlantic/Reykjavik",
    "Sao Tome Standard Time": "Africa/Sao_Tome",
    "Morocco Standard Time": "Africa/Casablanca",
    "W. Europe Standard Time": "Europe/Berlin",
    "Central Europe Standard Time": "Europe/Budapest",
    "Romance Standard Time": "Europe/Paris",
    "Central European Standard Time": "Europe/Warsaw",
    "W. Central Africa Standard Time": "Africa/Lagos",
    "Jordan Standard Time": "Asia/Amman",
    "GTB Standard Time": "Europe/Bucharest",
    "Middle East Standard Time": "Asia/Beirut",
    "Egypt Standard Time": "Africa/Cairo",
    "E. Europe Standard Time": "Europe/Chisinau",
    "Syria Standard Time": "Asia/Damascus",
    "West Bank Standard Time": "Asia/Hebron",
    "South Africa Standard Time": "Africa/Johannesburg",
    "FLE Standard Time": "Europe/Kyiv",  # CLDR: Europe/Kiev
    "Israel Standard Time": "Asia/Jerusalem",
    "South Sudan Standard Time": "Africa/Juba",
    "Kaliningrad Standard Time": "Europe/Kaliningrad",
    "Sudan Standard Time": "Africa/Khartoum",
    "Libya Standard Time": "Africa/Tripoli",
    "Namibia Standard Time": "Africa/Windhoek",
    "Arabic Standard Time": "Asia/Baghdad",
    "Turkey Standard Time": "Europe/Istanbul",
    "Arab Standard Time": "Asia/Riyadh",
    "Belarus Standard Time": "Europe/Minsk",
    "Russian Standard Time": "Europe/Moscow",
    "E. Africa Standard Time": "Africa/Nairobi",
    "Iran Standard Time": "Asia/Tehran",
    "Arabian Standard Time": "Asia/Dubai",
    "Astrakhan Standard Time": "Europe/Astrakhan",
    "Azerbaijan Standard Time": "Asia/Baku",
    "Russia Time Zone 3": "Europe/Samara",
    "Mauritius Standard Time": "Indian/Mauritius",
    "Saratov Standard Time": "Europe/Saratov",
    "Georgian Standard Time": "Asia/Tbilisi",
    "Volgograd Standard Time": "Europe/Volgograd",
    "Caucasus Standard Time": "Asia/Yerevan",
    "Afghanistan Standard Time": "Asia/Kabul",
    "West Asia Standard Time": "Asia/Tashkent",
    "Ekaterinburg Standard Time": "Asia/Yekaterinburg",
    "Pakistan Standard Time": "Asia/Karachi",
    "Qyzylorda Standard Time": "Asia/Qyzylorda",
    "India Standard Time": "Asia/Kolkata",  # CLDR: Asia/Calcutta
    "Sri Lanka Standard Time": "Asia/Colombo",
    "Nepal Standard Time": "Asia/Kathmandu",  # CLDR: Asia/Katmandu
    "Central Asia Standard Time": "Asia/Bishkek",
    "Bangladesh Standard Time": "Asia/Dhaka",
    "Omsk Standard Time": "Asia/Omsk",
    "Myanmar Standard Time": "Asia/Yangon",  # CLDR: Asia/Rangoon
    "SE Asia Standard Time": "Asia/Bangkok",
    "Altai Standard Time": "Asia/Barnaul",
    "W. Mongolia Standard Time": "Asia/Hovd",
    "North Asia Standard Time": "Asia/Krasnoyarsk",
    "N. Central Asia Standard Time": "Asia/Novosibirsk",
    "Tomsk Standard Time": "Asia/Tomsk",
    "China Standard Time": "Asia/Shanghai",
    "North Asia East Standard Time": "Asia/Irkutsk",
    "Singapore Standard Time": "Asia/Singapore",
    "W. Australia Standard Time": "Australia/Perth",
    "Taipei Standard Time": "Asia/Taipei",
    "Ulaanbaatar Standard Time": "Asia/Ulaanbaatar",
    "Aus Central W. Standard Time": "Australia/Eucla",
    "Transbaikal Standard Time": "Asia/Chita",
    "Tokyo Standard Time": "Asia/Tokyo",
    "North Korea Standard Time": "Asia/Pyongyang",
    "Korea Standard Time": "Asia/Seoul",
    "Yakutsk Standard Time": "Asia/Yakutsk",
    "Cen. Australia Standard Time": "Australia/Adelaide",
    "AUS Central Standard Time": "Australia/Darwin",
    "E. Australia Standard Time": "Australia/Brisbane",
    "AUS Eastern Standard Time": "Australia/Sydney",
    "West Pacific Standard Time": "Pacific/Port_Moresby",
    "Tasmania Standard Time": "Australia/Hobart",
    "Vladivostok Standard Time": "Asia/Vladivostok",
    "Lord Howe Standard Time": "Australia/Lord_Howe",
    "Bougainville Standard Time": "Pacific/Bougainville",
    "Russia Time Zone 10": "Asia/Srednekolymsk",
    "Magadan Standard Time": "Asia/Magadan",
    "Norfolk Standard Time": "Pacific/Norfolk",
    "Sakhalin Standard Time": "Asia/Sakhalin",
    "Central Pacific Standard Time": "Pacific/Guadalcanal",
    "Russia Time Zone 11": "Asia/Kamchatka",
    "New Zealand Standard Time": "Pacific/Auckland",
    "UTC+12": "Etc/GMT-12",
    "Fiji Standard Time": "Pacific/Fiji",
    "Chatham Islands Standard Time": "Pacific/Chatham",
    "UTC+13": "Etc/GMT-13",
    "Tonga Standard Time": "Pacific/Tongatapu",
    "Samoa Standard Time": "Pacific/Apia",
    "Line Islands Standard Time": "Pacific/Kiritimati",
}

# Windows ids that Microsoft retired but old mailboxes may still report (earlier CLDR releases).
RETIRED_WINDOWS_TO_IANA: dict[str, str] = {
    "Mid-Atlantic Standard Time": "Etc/GMT+2",
    "Kamchatka Standard Time": "Asia/Kamchatka",
}

# Windows ids compare case-insensitively: some clients re-case them ("Turks and Caicos ...").
_WINDOWS_BY_FOLDED_NAME: dict[str, str] = {
    name.casefold(): iana for name, iana in (WINDOWS_TO_IANA | RETIRED_WINDOWS_TO_IANA).items()
}

# Shape of an IANA key: letters/digits/_+- segments joined by "/" - no dots, so no "..", no
# absolute paths, no hidden files. Checked before anything touches the file system.
_IANA_NAME_SHAPE = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9][A-Za-z0-9_+\-]*){0,2}")
_MAX_IANA_NAME_LENGTH = 64
# Present in a tz database directory but not zones anyone should book in.
_NOT_ZONES = frozenset({"Factory", "localtime", "posixrules", "posix", "right"})


class UnknownTimeZone(ValidationFailed):
    """A time zone name that is neither a known IANA zone nor a known Windows id."""

    def __init__(self, name: str, field: str = "timeZone", **extensions: Any) -> None:
        shown = name if len(name) <= _MAX_IANA_NAME_LENGTH else name[:_MAX_IANA_NAME_LENGTH] + "..."
        message = f"unknown time zone {shown!r}; use an IANA name such as 'Europe/Berlin'"
        super().__init__(message, [FieldError(field, message)], **extensions)
        self.name = name


@functools.lru_cache(maxsize=1)
def _known_iana_names() -> frozenset[str]:
    # available_timezones() walks the tz database; cache it for the process.
    return frozenset(zoneinfo.available_timezones()) - _NOT_ZONES


def is_iana_zone_name(name: str) -> bool:
    """True if `name` is a well-formed key of a zone in the installed tz database."""
    return (
        len(name) <= _MAX_IANA_NAME_LENGTH
        and _IANA_NAME_SHAPE.fullmatch(name) is not None
        and name in _known_iana_names()
    )


def parse_iana_zone(name: str, field: str = "timeZone") -> ZoneInfo:
    """The zone for an IANA name; `UnknownTimeZone` (a validation error on `field`) otherwise.

    Only names of the tz database are accepted, so user input can never reach the file system
    as a path ("../../etc/passwd", "/etc/localtime", "localtime" are all rejected).
    """
    if not isinstance(name, str) or not is_iana_zone_name(name):
        raise UnknownTimeZone(str(name), field)
    return ZoneInfo(name)


def windows_to_iana(name: str, field: str = "timeZone") -> str:
    """The IANA name for a Windows time zone id; an IANA name is returned unchanged.

    Raises `UnknownTimeZone` for anything else (Outlook's "Customized Time Zone", typos).
    """
    stripped = name.strip() if isinstance(name, str) else ""
    if is_iana_zone_name(stripped):
        return stripped
    iana = _WINDOWS_BY_FOLDED_NAME.get(stripped.casefold())
    if iana is None:
        raise UnknownTimeZone(str(name), field)
    return iana
