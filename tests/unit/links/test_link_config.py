"""Booking-link bodies: parsing, every bad field named, and the stored / public round trip."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from lib.api.links import PublicLink
from lib.core.errors import ValidationFailed
from lib.features.availability.service import MAX_RANGE_DAYS, parse_availability_query
from lib.features.links.config import (
    MAX_HOSTS,
    Assignment,
    CalendarProvider,
    LinkConfig,
    link_config_from_json,
    parse_slug,
)


def body(**changes: Any) -> dict[str, Any]:
    return {
        "title": "Intro",
        "hosts": [{"userId": "u1", "calendarProvider": "microsoft"}],
        "durationMinutes": 30,
        "timeZone": "Europe/Berlin",
        "weeklyHours": {"monday": [{"start": "09:00", "end": "12:00"}, {"start": "13:00", "end": "17:00"}]},
        **changes,
    }


def fields(data: dict[str, Any], slug: str = "intro") -> set[str]:
    with pytest.raises(ValidationFailed) as raised:
        link_config_from_json(slug, data)
    return {e.field for e in raised.value.errors}


def test_a_valid_body_with_defaults() -> None:
    config = link_config_from_json("intro", body())
    assert config.assignment is Assignment.SINGLE and config.teams_meeting is False
    assert config.hosts[0].provider is CalendarProvider.MICROSOFT
    assert config.rules.slot_step_minutes == 30 and config.rules.horizon_days == 60
    assert len(config.rules.weekly_hours.for_weekday(0)) == 2


def test_record_round_trip_and_public_view_hides_hosts() -> None:
    config = link_config_from_json(
        "team-call",
        body(
            assignment="roundRobin",
            hosts=[{"userId": "u1"}, {"userId": "u2", "calendarProvider": "none"}],
            teamsMeeting=True,
            dailyCap=3,
        ),
    )
    again = LinkConfig.from_record(config.to_record(datetime.now(UTC)))
    assert again == config
    public = PublicLink.of(config).wire()
    assert "hosts" not in public and "u1" not in str(public)
    assert public["teamsMeeting"] is True and public["timeZone"] == "Europe/Berlin"


@pytest.mark.parametrize("slug", ["intro", "a", "a-b-9", "x" * 64])
def test_good_slugs(slug: str) -> None:
    assert parse_slug(slug) == slug


@pytest.mark.parametrize("slug", ["", "-a", "a-", "A", "a_b", "a/b", "x" * 65, "über", None])
def test_bad_slugs(slug: Any) -> None:
    with pytest.raises(ValidationFailed):
        parse_slug(slug)


def test_link_fields_and_rule_fields_are_reported_together() -> None:
    assert fields(body(title=" ", durationMinutes=1, timeZone="Nowhere/Land", extra=1)) >= {
        "title",
        "durationMinutes",
        "timeZone",
        "extra",
    }


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"hosts": []}, "hosts"),
        ({"hosts": "u1"}, "hosts"),
        ({"hosts": [{"userId": "u1"}, {"userId": "u2"}]}, "hosts"),  # single with two
        ({"assignment": "roundRobin", "hosts": [{"userId": f"u{i}"} for i in range(MAX_HOSTS + 1)]}, "hosts"),
        ({"assignment": "roundRobin", "hosts": [{"userId": "u1"}, {"userId": "u1"}]}, "hosts[1].userId"),
        ({"hosts": [{"userId": "u1", "calendarProvider": "exchange"}]}, "hosts[0].calendarProvider"),
        ({"hosts": [{"userId": "x" * 257}]}, "hosts[0].userId"),
        ({"hosts": [{"userId": "u1", "email": "x@y"}]}, "hosts[0].email"),
        ({"hosts": ["u1"]}, "hosts[0]"),
        ({"assignment": "random"}, "assignment"),
        ({"teamsMeeting": 1}, "teamsMeeting"),
        ({"title": "x" * 201}, "title"),
    ],
)
def test_bad_link_fields(changes: dict[str, Any], field: str) -> None:
    assert field in fields(body(**changes))


def test_a_pool_of_a_hundred_hosts_is_a_link() -> None:
    hosts = [{"userId": f"u{i}", "calendarProvider": "microsoft"} for i in range(100)]
    config = link_config_from_json("team", body(assignment="roundRobin", hosts=hosts))
    assert [h.user_id for h in config.hosts] == [f"u{i}" for i in range(100)]


class TestAvailabilityQuery:
    def test_a_good_query(self) -> None:
        q = parse_availability_query(
            {"start": "2026-03-01", "end": "2026-03-31", "timezone": "America/Chicago"}
        )
        assert (q.first_day, q.last_day, q.viewer_time_zone) == (
            date(2026, 3, 1),
            date(2026, 3, 31),
            "America/Chicago",
        )

    def test_the_longest_range(self) -> None:
        q = parse_availability_query({"start": "2026-01-01", "end": "2026-03-03", "timezone": "UTC"})
        assert (q.last_day - q.first_day).days + 1 == MAX_RANGE_DAYS

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"end": "2026-03-01", "timezone": "UTC"}, "start"),
            ({"start": "2026-3-1", "end": "2026-03-01", "timezone": "UTC"}, "start"),
            ({"start": "2026-03-01", "end": "2026-02-28", "timezone": "UTC"}, "end"),
            ({"start": "2026-01-01", "end": "2026-03-04", "timezone": "UTC"}, "end"),
            ({"start": "2026-03-01", "end": "2026-03-01", "timezone": "Pacific Standard Time"}, "timezone"),
            ({"start": "2026-03-01", "end": "2026-03-01", "timezone": "/etc/localtime"}, "timezone"),
            ({"start": "2026-03-01", "end": "2026-03-01"}, "timezone"),
            ({"start": "0001-01-01", "end": "0001-01-01", "timezone": "UTC"}, "start"),
            ({"start": "9999-12-31", "end": "9999-12-31", "timezone": "UTC"}, "end"),
        ],
    )
    def test_bad_queries(self, params: dict[str, str], field: str) -> None:
        with pytest.raises(ValidationFailed) as raised:
            parse_availability_query(params)
        assert field in {e.field for e in raised.value.errors}
        assert raised.value.code == "validation_error"
