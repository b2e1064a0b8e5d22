"""Graph date-time formats and time zone names."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from devstack.sandbox.timeutil import (
    WINDOWS_TO_IANA,
    format_graph,
    format_utc_z,
    parse_datetime,
    parse_query_datetime,
    resolve_tz,
)


def test_format_has_seven_fractional_digits_and_no_offset() -> None:
    assert format_graph(datetime(2026, 11, 20, 9, 0)) == "2026-11-20T09:00:00.0000000"
    assert format_graph(datetime(2026, 11, 20, 9, 0, 0, 123456)) == "2026-11-20T09:00:00.1234560"
    assert format_utc_z(datetime(2026, 11, 20, 9, tzinfo=UTC)) == "2026-11-20T09:00:00.0000000Z"


@pytest.mark.parametrize(
    ("raw", "expected", "aware"),
    [
        ("2026-11-20T09:00:00.0000000", datetime(2026, 11, 20, 9), False),
        ("2026-11-20T09:00:00", datetime(2026, 11, 20, 9), False),
        ("2026-11-20T09:00:00Z", datetime(2026, 11, 20, 9, tzinfo=UTC), True),
        ("2026-11-20T09:00:00-08:00", datetime(2026, 11, 20, 17, tzinfo=UTC), True),
        ("2026-11-20", datetime(2026, 11, 20), False),
    ],
)
def test_parse(raw: str, expected: datetime, aware: bool) -> None:
    assert parse_datetime(raw) == (expected, aware)


def test_query_datetime_without_offset_is_utc() -> None:
    assert parse_query_datetime("2026-11-20T09:00:00") == datetime(2026, 11, 20, 9, tzinfo=UTC)
    with pytest.raises(ValueError):
        parse_datetime("20 Nov 2026")


def test_windows_and_iana_names_resolve() -> None:
    for name in WINDOWS_TO_IANA:
        assert resolve_tz(name) is not None, name
    assert resolve_tz("pacific standard time") is not None
    assert resolve_tz("Europe/Paris") is not None
    assert resolve_tz("Mars/Olympus") is None and resolve_tz("") is None
