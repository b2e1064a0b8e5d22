"""Hardening II, defects 1-4 through the dev host: hostile bodies, dates, text and token payloads get
a 400/401 problem and one short log line - never a 500, a stack trace in the log, or a stored change."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
import requests

from devstack.funchost import DevHost
from lib.adapters.storage import storage_account
from lib.features.bookings.records import BookingRecord
from tests.fixtures.devhost import API_KEY, USER_TOKEN_KEY
from tests.hostile import signed_token
from tests.integration.availability.helpers import link_body, new_slug, new_user, next_monday, put_link

from .helpers import at, book, booking_body, manage, new_link

JSON = {"Content-Type": "application/json"}


def assert_problem(r: requests.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"].startswith("application/problem+json")
    problem: dict[str, Any] = r.json()
    assert problem["code"] == code
    return problem


def no_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    """What the log guard does not look for (it hunts credentials): a stack trace per request."""
    traced = [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]
    assert not traced, [f"{r.name}: {r.getMessage()[:120]}" for r in traced]


def bookings_of(slug: str) -> list[BookingRecord]:
    return [b for b in storage_account().table(BookingRecord).query() if b.slug == slug]


@pytest.mark.parametrize(
    "value",
    [b"[" * 3500 + b"]" * 3500, b'{"a":' * 1300 + b"1" + b"}" * 1300, b"1" * 7000, b"NaN", b"1e999"],
    ids=["deep-array", "deep-object", "7000-digits", "NaN", "1e999"],
)
def test_a_hostile_json_body_is_a_400_with_one_short_log_line(
    devhost: DevHost, caplog: pytest.LogCaptureFixture, value: bytes
) -> None:
    slug = new_link(devhost, (new_user(), "none"))
    body = b'{"start":' + value + b', "attendee": {"name": "Ada", "email": "ada@example.com"}}'
    assert len(body) < 8 * 1024
    caplog.set_level(logging.INFO)
    caplog.clear()

    r = requests.post(f"{devhost.api_url}/links/{slug}/bookings", data=body, headers=JSON, timeout=30)

    problem = assert_problem(r, 400, "validation_error")
    assert problem["errors"][0]["field"] == "body"
    no_tracebacks(caplog)
    refused = [rec for rec in caplog.records if rec.name == "slotbridge.json"]
    assert len(refused) == 1 and len(refused[0].getMessage()) < 120, [x.getMessage() for x in refused]
    assert bookings_of(slug) == []


def test_the_graph_intake_refuses_a_deep_body_the_same_way(
    devhost: DevHost, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    caplog.clear()
    body = b'{"value":' + b"[" * 4000 + b"]" * 4000 + b"}"
    r = requests.post(f"{devhost.api_url}/graph/notifications", data=body, headers=JSON, timeout=30)
    assert r.status_code == 400, r.text
    no_tracebacks(caplog)


@pytest.mark.parametrize(
    "start",
    [
        "9999-12-31T23:00:00Z",
        "9999-12-31T23:00:00-14:00",
        "0001-01-01T00:00:00+14:00",
        "2101-01-03T10:00:00Z",
    ],
)
def test_a_booking_or_reschedule_at_an_extreme_date_is_a_400_and_changes_nothing(
    devhost: DevHost, caplog: pytest.LogCaptureFixture, start: str
) -> None:
    slug = new_link(devhost, (new_user(), "none"))
    caplog.clear()
    created = book(devhost, slug, start)
    assert "start" in {e["field"] for e in assert_problem(created, 400, "validation_error")["errors"]}

    good = book(devhost, slug, at(next_monday(), 10))
    assert good.status_code == 201, good.text
    booking_id, token = good.json()["bookingId"], good.json()["manageToken"]
    moved = manage(devhost, booking_id, "reschedule", token, start=start)
    assert "start" in {e["field"] for e in assert_problem(moved, 400, "validation_error")["errors"]}
    [stored] = bookings_of(slug)
    assert stored.start_utc.isoformat().startswith(str(next_monday())) and not stored.history
    no_tracebacks(caplog)


def test_a_lone_surrogate_e_mail_is_refused_and_nothing_is_stored(devhost: DevHost) -> None:
    slug = new_link(devhost, (new_user(), "none"))
    # A lone surrogate cannot be UTF-8: it travels as the JSON escape, as an attacker sends it.
    attendee = '{"name": "Ada", "email": "\\udfff@example.com"}'
    body = f'{{"start": "{at(next_monday(), 10)}", "attendee": {attendee}}}'.encode()
    r = requests.post(f"{devhost.api_url}/links/{slug}/bookings", data=body, headers=JSON, timeout=30)
    assert {e["field"] for e in assert_problem(r, 400, "validation_error")["errors"]} == {"attendee.email"}
    assert bookings_of(slug) == []
    notes = book(devhost, slug, body=booking_body(at(next_monday(), 11), notes="hi\u0000there"))
    assert {e["field"] for e in assert_problem(notes, 400, "validation_error")["errors"]} == {"notes"}
    assert bookings_of(slug) == []


def test_a_nul_in_a_link_title_is_refused_and_the_link_is_unchanged(devhost: DevHost) -> None:
    slug = new_slug()
    user = new_user()
    before = put_link(devhost, slug, link_body([(user, "none")]))
    backend = {"X-Api-Key": API_KEY, **JSON}
    for title in ("Intro\u0000call", "Intro \udfff"):
        raw = link_body([(user, "none")], title=title)
        r = requests.put(
            f"{devhost.api_url}/links/{slug}", data=_dumps_ascii(raw), headers=backend, timeout=30
        )
        assert {e["field"] for e in assert_problem(r, 400, "validation_error")["errors"]} == {"title"}
    served = requests.get(f"{devhost.api_url}/links/{slug}", timeout=30).json()
    assert served["title"] == before["title"] == "Intro call"


def test_a_signed_user_token_with_a_non_object_payload_is_401_not_500(
    devhost: DevHost, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.clear()
    for payload in (b"[]", b"42", b'"me"', b"null", b'{"sub": ["x"], "iat": 1, "exp": 2}'):
        token = signed_token(USER_TOKEN_KEY, payload)
        r = requests.get(f"{devhost.api_url}/links", headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert_problem(r, 401, "unauthorized")
    no_tracebacks(caplog)


def _dumps_ascii(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=True).encode()
