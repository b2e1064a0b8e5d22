"""The one rule for stored text and for dates, applied where bookings and links are parsed."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings

from lib.adapters.storage.keys import require_user_id
from lib.core.errors import FieldError, ValidationFailed
from lib.core.input_rules import (
    EARLIEST_DAY,
    LATEST_DAY,
    check_email,
    check_flag,
    check_text,
    text_fault,
)
from lib.engine.link_rules_json import link_rules_from_json
from lib.features.availability.service import parse_availability_query
from lib.features.bookings.validation import (
    check_cancel_body,
    manage_token_from,
    parse_booking_request,
    parse_meeting_request,
    parse_no_show,
    parse_reschedule_start,
)
from lib.features.links.config import link_config_from_json
from tests.hostile import control_characters, extreme_dates, lone_surrogates


def booking(**change: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "start": "2030-01-07T10:00:00Z",
        "attendee": {"name": "Ada", "email": "a@example.com"},
    }
    return {**body, **change}


def link(**change: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Intro",
        "hosts": [{"userId": "u-1", "calendarProvider": "none"}],
        "durationMinutes": 30,
        "timeZone": "Europe/Berlin",
        "weeklyHours": {"monday": [{"start": "09:00", "end": "17:00"}]},
    }
    return {**body, **change}


def fields_of(raised: pytest.ExceptionInfo[ValidationFailed]) -> set[str]:
    assert raised.value.status == 400
    return {e.field for e in raised.value.errors}


def test_the_text_rule() -> None:
    assert text_fault("Ada Lovelace, café ☕ 😀") is None
    assert text_fault("a\udfffb") == "is not valid Unicode (a lone surrogate)"
    for bad in ("a\x00", "\x1b[31m", "a\x7f", "a\x85", "line\nbreak", "tab\t"):
        assert text_fault(bad) == "must not contain control characters"
    assert text_fault("line\nbreak\ttab\r\n", keep="\n\r\t") is None
    problems: list[FieldError] = []
    assert check_text("  ", "f", problems, max_length=5, describe="d") is None
    assert check_text("", "f", problems, max_length=5, describe="d", allow_blank=True) == ""
    assert [p.field for p in problems] == ["f"]


@pytest.mark.parametrize(
    "address",
    [
        "a\udfff@example.com",
        "ada@example.com\x00",
        "Ada <ada@example.com>",
        "ada@localhost",
        "a..b@example.com",
        "ada@[192.0.2.1]",
        '"ada lovelace"@example.com',
        "ada@",
        "@example.com",
        5,
    ],
)
def test_e_mail_addresses_go_through_a_real_parser(address: Any) -> None:
    problems: list[FieldError] = []
    assert check_email(address, "attendee.email", problems) is None
    assert [p.field for p in problems] == ["attendee.email"]


def test_good_e_mail_addresses_are_kept_with_the_domain_lower_cased() -> None:
    assert check_email(" Ada.L+x@Example.COM ", "e", []) == "Ada.L+x@example.com"
    assert check_email("jörg@bücher.example", "e", []) == "jörg@bücher.example"
    # Internationalised addresses (Exchange Online delivers to them) are kept in one form: NFC, the
    # domain in Unicode whether it came as Unicode or as `xn--`.
    assert check_email("JÖRG@xn--bcher-kva.example", "e", []) == "JÖRG@bücher.example"
    assert check_email("jo\u0308rg@bu\u0308cher.example", "e", []) == "jörg@bücher.example"
    assert check_email("用户@例子.广告", "e", []) == "用户@例子.广告"


@pytest.mark.parametrize(
    "address", ["pat@corp.local", "pat@lab.test", "pat@mail.invalid", "pat@router.home.arpa"]
)
def test_internal_and_special_use_domains_are_accepted_as_before(address: str) -> None:
    """Attendees at an organisation's internal domain (corp.local...) were accepted before
    email-validator and must still be: Exchange, not Slotbridge, decides whether it delivers."""
    problems: list[FieldError] = []
    assert check_email(address, "attendee.email", problems) == address
    assert problems == []


def test_a_lone_surrogate_e_mail_is_refused_before_it_is_stored() -> None:
    """The issue: `\\udfff` in attendee.email was accepted, stored and sent to Graph."""
    with pytest.raises(ValidationFailed) as raised:
        parse_booking_request(booking(attendee={"name": "Ada", "email": "\udfff@example.com"}))
    assert fields_of(raised) == {"attendee.email"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"attendee": {"name": "Ada\udfff", "email": "a@example.com"}}, "attendee.name"),
        ({"notes": "hello\x00"}, "notes"),
        ({"notes": "bad \udc80 half"}, "notes"),
        ({"start": "9999-12-31T23:00:00Z"}, "start"),
        ({"start": "9999-12-31T23:00:00-14:00"}, "start"),
        ({"start": "0001-01-01T00:00:00+14:00"}, "start"),
        ({"start": "1999-12-31T23:00:00Z"}, "start"),
        ({"start": "2101-01-01T00:00:00Z"}, "start"),
    ],
)
def test_booking_fields_under_the_rules(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        parse_booking_request(booking(**change))
    assert field in fields_of(raised)


def test_notes_keep_line_breaks_and_tabs() -> None:
    assert parse_booking_request(booking(notes="one\ntwo\r\n\tthree")).notes == "one\ntwo\r\n\tthree"


def test_reschedule_and_cancel_bodies_under_the_rules() -> None:
    with pytest.raises(ValidationFailed) as raised:
        parse_reschedule_start({"start": "9999-12-31T23:00:00Z"})
    assert fields_of(raised) == {"start"}
    with pytest.raises(ValidationFailed) as raised:
        check_cancel_body({"reason": "changed\x00my mind"})
    assert fields_of(raised) == {"reason"}
    with pytest.raises(ValidationFailed):
        manage_token_from({"Authorization": "Bearer t"}, {"token": "t\udfff"})


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": "Intro\x00call"}, "title"),
        ({"title": "Intro \udfff"}, "title"),
        ({"location": "Room\x9b4"}, "location"),
        ({"subjectTemplate": "{title}\udc00"}, "subjectTemplate"),
        ({"hosts": [{"userId": "u\x00", "calendarProvider": "none"}]}, "hosts[0].userId"),
        ({"dateOverrides": [{"date": "9999-12-31", "kind": "dayOff"}]}, "dateOverrides[0].date"),
        ({"dateOverrides": [{"date": "1999-12-31", "kind": "dayOff"}]}, "dateOverrides[0].date"),
    ],
)
def test_link_fields_under_the_rules(change: dict[str, Any], field: str) -> None:
    """The issue: a NUL in a link title was stored and served."""
    with pytest.raises(ValidationFailed) as raised:
        link_config_from_json("intro", link(**change))
    assert field in fields_of(raised)


def test_the_documented_date_range_is_inclusive() -> None:
    first, last = EARLIEST_DAY.isoformat(), LATEST_DAY.isoformat()
    parse_availability_query({"start": first, "end": first, "timezone": "Pacific/Kiritimati"})
    parse_availability_query({"start": last, "end": last, "timezone": "Pacific/Pago_Pago"})
    rules = {k: v for k, v in link().items() if k not in ("title", "hosts")}
    link_rules_from_json({**rules, "dateOverrides": [{"date": last, "kind": "dayOff"}]})
    assert parse_booking_request(booking(start=f"{last}T23:59:00-12:00")).start_utc.year == 2101


@settings(max_examples=80, deadline=None, derandomize=True)
@given(value=extreme_dates())
def test_extreme_and_invalid_dates_are_validation_errors_everywhere(value: str) -> None:
    text = json.loads(value)
    with pytest.raises(ValidationFailed):
        parse_booking_request(booking(start=text))
    with pytest.raises(ValidationFailed):
        parse_reschedule_start({"start": text})
    with pytest.raises(ValidationFailed):
        parse_availability_query({"start": text, "end": text, "timezone": "UTC"})
    with pytest.raises(ValidationFailed):
        link_config_from_json("intro", link(dateOverrides=[{"date": text, "kind": "dayOff"}]))


@settings(max_examples=80, deadline=None, derandomize=True)
@given(value=lone_surrogates() | control_characters())
def test_bad_text_is_refused_in_every_text_field(value: str) -> None:
    text = json.loads(value)
    for change in (
        {"attendee": {"name": text, "email": "a@example.com"}},
        {"attendee": {"name": "Ada", "email": text}},
        {"notes": text},
    ):
        with pytest.raises(ValidationFailed):
            parse_booking_request(booking(**change))
    for name in ("title", "location", "subjectTemplate"):
        with pytest.raises(ValidationFailed):
            link_config_from_json("intro", link(**{name: text}))


def test_one_user_id_rule_for_paths_and_queries() -> None:
    """The rule the auth guard and GET /links?userId share: text rule, then the storage key limit;
    either way a 400 naming the field, never a 500 at the table."""
    assert require_user_id("user-1") == "user-1"
    for bad in ("a\udfff", "a\x00b", "", "/" * 256):
        with pytest.raises(ValidationFailed) as raised:
            require_user_id(bad)
        assert [e.field for e in raised.value.errors or []] == ["userId"]


def test_one_flag_rule_for_links_meetings_and_no_shows() -> None:
    """JSON true/false only: a string or number that looks like one is refused the same way in
    every body that takes a flag."""
    problems: list[FieldError] = []
    assert check_flag(True, "f", problems) is True and check_flag(False, "f", problems) is False
    for bad in ("true", 1, 0, None, []):
        assert check_flag(bad, "f", problems) is None
    assert {(p.field, p.message) for p in problems} == {("f", "must be true or false")}
    meeting = {"start": "2026-06-15T10:00:00Z", "attendees": [{"name": "Ada", "email": "ada@example.com"}]}
    refusals = [
        (lambda: link_config_from_json("intro", link(active="false")), "active"),
        (lambda: parse_meeting_request({**meeting, "teamsMeeting": "yes"}), "teamsMeeting"),
        (lambda: parse_no_show({"noShow": 1}), "noShow"),
    ]
    for parse, field in refusals:
        with pytest.raises(ValidationFailed) as raised:
            parse()
        assert [(e.field, e.message) for e in raised.value.errors or []] == [(field, "must be true or false")]
