"""Time zone names: Windows (what Outlook's mailboxSettings returns) to IANA, and safe IANA parsing.

Outlook reports a mailbox's zone as a Windows id ("Pacific Standard Time"); everything else in
Slotbridge (links, booking pages, the slot engine) speaks IANA ("America/Los_Angeles"). The mapping
is the Unicode CLDR `windowsZones` table for territory "001" (the one golden zone per Windows id)
as the `tzlocal` package maintains it (`tzlocal.windows_tz.win_tz`). Where CLDR's canonical id is
an IANA backward-compatibility link (CLDR keeps "Asia/Calcutta", "Europe/Kiev", ...), the current
IANA primary name is used instead, because browsers and the viewer's `timezone=` parameter use the
modern names. Windows ids CLDR no longer lists but old mailboxes may still report are kept below.
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from typing import Any
from zoneinfo import ZoneInfo

from tzlocal.windows_tz import win_tz

from lib.core.errors import FieldError, ValidationFailed

# CLDR keeps IANA backward-compatibility links as canonical ids; browsers use the current names.
CURRENT_IANA_NAMES: dict[str, str] = {
    "America/Indianapolis": "America/Indiana/Indianapolis",
    "America/Buenos_Aires": "America/Argentina/Buenos_Aires",
    "America/Godthab": "America/Nuuk",
    "Europe/Kiev": "Europe/Kyiv",
    "Asia/Calcutta": "Asia/Kolkata",
    "Asia/Katmandu": "Asia/Kathmandu",
    "Asia/Rangoon": "Asia/Yangon",
}

# Windows time zone id -> IANA zone: CLDR windowsZones (territory "001") as tzlocal ships it.
WINDOWS_TO_IANA: dict[str, str] = {
    windows: CURRENT_IANA_NAMES.get(iana, iana) for windows, iana in win_tz.items()
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
