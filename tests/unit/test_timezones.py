"""Windows -> IANA time zone names (Outlook mailboxSettings) and safe IANA parsing."""

from __future__ import annotations

import importlib.resources
import zoneinfo

import pytest
from tzlocal.windows_tz import win_tz

from lib.core.errors import ValidationFailed
from lib.core.timezones import (
    RETIRED_WINDOWS_TO_IANA,
    WINDOWS_TO_IANA,
    UnknownTimeZone,
    parse_iana_zone,
    windows_to_iana,
)


@pytest.mark.parametrize(
    ("windows", "iana"),
    [
        ("Pacific Standard Time", "America/Los_Angeles"),
        ("W. Europe Standard Time", "Europe/Berlin"),
        ("Lord Howe Standard Time", "Australia/Lord_Howe"),
        ("Eastern Standard Time", "America/New_York"),
        ("GMT Standard Time", "Europe/London"),
        ("India Standard Time", "Asia/Kolkata"),
        ("FLE Standard Time", "Europe/Kyiv"),
        ("UTC", "UTC"),  # also an IANA name: IANA names pass unchanged (same zone as Etc/UTC)
        ("UTC-11", "Etc/GMT+11"),
        ("Chatham Islands Standard Time", "Pacific/Chatham"),
        ("Turks and Caicos Standard Time", "America/Grand_Turk"),  # re-cased by some clients
        ("  Tokyo Standard Time ", "Asia/Tokyo"),
        ("Mid-Atlantic Standard Time", "Etc/GMT+2"),  # retired id
    ],
)
def test_windows_names_map_to_iana(windows: str, iana: str) -> None:
    assert windows_to_iana(windows) == iana


@pytest.mark.parametrize("iana", ["Europe/Berlin", "America/Argentina/Buenos_Aires", "Etc/GMT-14", "UTC"])
def test_iana_names_pass_unchanged(iana: str) -> None:
    assert windows_to_iana(iana) == iana


def test_the_table_is_complete_and_every_target_exists() -> None:
    # every territory "001" entry of CLDR windowsZones (139 when the table was hand-kept; tzlocal's
    # newer CLDR adds Alberta, British Columbia and Manitoba)
    assert set(WINDOWS_TO_IANA) == set(win_tz)
    assert len(WINDOWS_TO_IANA) >= 139
    known = zoneinfo.available_timezones()
    for iana in (WINDOWS_TO_IANA | RETIRED_WINDOWS_TO_IANA).values():
        assert iana in known, iana


def test_targets_are_current_iana_names_not_backward_links() -> None:
    zi = importlib.resources.files("tzdata").joinpath("zoneinfo/tzdata.zi").read_text(encoding="utf-8")
    links = {line.split()[2] for line in zi.splitlines() if line.startswith("L ")}
    # tz merged Reykjavik into Abidjan; CLDR and browsers keep the name, so the app does too.
    still_named = {"Atlantic/Reykjavik"}
    assert sorted(set(WINDOWS_TO_IANA.values()) & links - still_named) == []


@pytest.mark.parametrize("name", ["Customized Time Zone", "Pacific Standard Tim", "", "Mars/Olympus"])
def test_unknown_names_raise_a_typed_validation_error(name: str) -> None:
    with pytest.raises(UnknownTimeZone) as raised:
        windows_to_iana(name)
    assert isinstance(raised.value, ValidationFailed)
    assert raised.value.code == "validation_error"
    assert raised.value.errors[0].field == "timeZone"


def test_parse_iana_zone() -> None:
    zone = parse_iana_zone("Australia/Lord_Howe")
    assert zone.key == "Australia/Lord_Howe"


@pytest.mark.parametrize(
    "name",
    [
        "../../etc/passwd",
        "/etc/localtime",
        "Europe/../../etc/passwd",
        "Europe/./Berlin",
        "localtime",
        "Factory",
        "posixrules",
        "Europe/Berlin\x00",
        "Europe\\Berlin",
        "europe/berlin",
        "A" * 200,
        "Pacific Standard Time",
        "",
    ],
)
def test_parse_iana_zone_rejects_unknown_and_path_tricks(name: str) -> None:
    with pytest.raises(UnknownTimeZone) as raised:
        parse_iana_zone(name, field="timezone")
    assert raised.value.errors[0].field == "timezone"
    assert len(raised.value.detail) < 200
