"""Booking links through the dev host: validation with field errors, create/replace, who may
manage which link, the management list and the public view."""

from __future__ import annotations

from typing import Any

import requests

from devstack.funchost import DevHost
from lib.adapters.storage import storage_account
from lib.core.auth import issue_user_token
from lib.features.links.config import MAX_TITLE_LENGTH
from lib.features.links.records import BookingLinkRecord
from tests.fixtures.devhost import USER_TOKEN_KEY
from tests.integration.connect.helpers import BACKEND

from .helpers import link_body, new_slug, new_user, put_link


def _as_user(user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_user_token(USER_TOKEN_KEY, user)}"}


def _put(devhost: DevHost, slug: str, body: Any, headers: dict[str, str] | None = None) -> requests.Response:
    return requests.put(f"{devhost.api_url}/links/{slug}", json=body, headers=headers or BACKEND, timeout=30)


def _fields(r: requests.Response) -> set[str]:
    assert r.status_code == 400, r.text
    assert r.headers["Content-Type"] == "application/problem+json" and r.json()["code"] == "validation_error"
    return {e["field"] for e in r.json()["errors"]}


def test_create_replace_and_read_a_link(devhost: DevHost) -> None:
    slug, user = new_slug(), new_user()
    body = link_body(
        [(user, "microsoft")],
        time_zone="Europe/Berlin",
        slotStepMinutes=15,
        bufferBeforeMinutes=5,
        bufferAfterMinutes=10,
        minimumNoticeMinutes=120,
        horizonDays=30,
        dailyCap=4,
        teamsMeeting=True,
        dateOverrides=[
            {"date": "2030-12-24", "kind": "dayOff"},
            {"date": "2030-12-28", "kind": "add", "ranges": [{"start": "10:00", "end": "12:00"}]},
        ],
    )
    body["weeklyHours"]["monday"] = [{"start": "08:00", "end": "12:00"}, {"start": "13:00", "end": "17:00"}]
    created = _put(devhost, slug, body)
    assert created.status_code == 201, created.text
    link = created.json()
    assert link["slug"] == slug and link["hosts"] == [{"userId": user, "calendarProvider": "microsoft"}]
    assert (link["assignment"], link["teamsMeeting"], link["dailyCap"]) == ("single", True, 4)
    assert (
        link["weeklyHours"]["monday"] == body["weeklyHours"]["monday"] and link["weeklyHours"]["sunday"] == []
    )
    assert link["dateOverrides"][0] == {"date": "2030-12-24", "kind": "dayOff"}

    replaced = _put(devhost, slug, {**body, "title": "Longer call", "durationMinutes": 45})
    assert replaced.status_code == 200 and replaced.json()["durationMinutes"] == 45

    public = requests.get(f"{devhost.api_url}/links/{slug}", timeout=10)
    assert public.status_code == 200
    assert public.json() == {
        "slug": slug,
        "title": "Longer call",
        "durationMinutes": 45,
        "timeZone": "Europe/Berlin",
        "teamsMeeting": True,
        "assignment": "single",
    }
    missing = requests.get(f"{devhost.api_url}/links/{new_slug()}", timeout=10)
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_invalid_links_are_refused_with_every_field_named(devhost: DevHost) -> None:
    user = new_user()
    assert "slug" in _fields(_put(devhost, "Not_A_Slug", link_body([(user, "none")])))
    assert "slug" in _fields(_put(devhost, "-x", link_body([(user, "none")])))
    bad = {
        "title": "",
        "assignment": "lottery",
        "hosts": [{"userId": user, "calendarProvider": "exchange"}, {"userId": user}, {"userId": ""}],
        "durationMinutes": 0,
        "timeZone": "Atlantis/Capital",
        "weeklyHours": {
            "monday": [{"start": "09:00", "end": "17:00"}, {"start": "16:00", "end": "18:00"}],
            "funday": [],
        },
        "dateOverrides": [{"date": "2030-02-30", "kind": "dayOff"}],
        "bufferBeforeMinutes": -1,
        "teamsMeeting": "yes",
        "colour": "red",
    }
    fields = _fields(_put(devhost, new_slug(), bad))
    assert {
        "title",
        "assignment",
        "hosts[0].calendarProvider",
        "hosts[1].userId",
        "hosts[2].userId",
        "durationMinutes",
        "timeZone",
        "weeklyHours.monday[1]",
        "weeklyHours.funday",
        "dateOverrides[0].date",
        "bufferBeforeMinutes",
        "teamsMeeting",
        "colour",
    } <= fields
    two_hosts_single = {**link_body([(user, "none"), (new_user(), "none")]), "assignment": "single"}
    assert "hosts" in _fields(_put(devhost, new_slug(), two_hosts_single))
    assert "hosts" in _fields(_put(devhost, new_slug(), {**link_body([(user, "none")]), "hosts": []}))
    not_json = requests.put(f"{devhost.api_url}/links/{new_slug()}", data=b"{", headers=BACKEND, timeout=10)
    assert "body" in _fields(not_json)


def test_who_may_manage_which_link(devhost: DevHost) -> None:
    alice, bob = new_user(), new_user()
    url = f"{devhost.api_url}/links/{new_slug()}"
    assert requests.put(url, json=link_body([(alice, "none")]), timeout=10).status_code == 401

    own = new_slug()
    assert _put(devhost, own, link_body([(alice, "microsoft")]), _as_user(alice)).status_code == 201
    assert _put(devhost, own, link_body([(alice, "none")]), _as_user(alice)).status_code == 200
    # Bob may not take Alice's link over, nor may Alice put Bob in a pool of hers.
    taken = _put(devhost, own, link_body([(bob, "microsoft")]), _as_user(bob))
    assert taken.status_code == 403 and taken.json()["code"] == "unauthorized"
    pool = _put(devhost, new_slug(), link_body([(alice, "microsoft"), (bob, "microsoft")]), _as_user(alice))
    assert pool.status_code == 403
    # The backend may build pools; then neither member alone may rewrite the pool.
    team = new_slug()
    put_link(devhost, team, link_body([(alice, "microsoft"), (bob, "none")]))
    assert _put(devhost, team, link_body([(alice, "microsoft")]), _as_user(alice)).status_code == 403

    def listed(headers: dict[str, str], query: str = "") -> list[str]:
        r = requests.get(f"{devhost.api_url}/links{query}", headers=headers, timeout=10)
        assert r.status_code == 200, r.text
        return [link["slug"] for link in r.json()["links"]]

    assert listed(_as_user(alice)) == sorted([own, team])
    assert listed(_as_user(bob)) == [team]
    assert listed(BACKEND, f"?userId={bob}") == [team]
    assert {own, team} <= set(listed(BACKEND))
    assert (
        requests.get(f"{devhost.api_url}/links?userId={bob}", headers=_as_user(alice), timeout=10).status_code
        == 403
    )
    assert requests.get(f"{devhost.api_url}/links", timeout=10).status_code == 401

    # Removing Bob from the pool removes it from his list.
    put_link(devhost, team, link_body([(alice, "microsoft")]))
    assert listed(_as_user(bob)) == []


def test_a_link_stored_before_a_bound_tightened_still_answers(devhost: DevHost) -> None:
    """Answers are not re-validated against today's bounds: a link kept with a title longer than
    today's maximum (saved before the rule tightened) is still listed and shown."""
    slug, user = new_slug(), new_user()
    assert put_link(devhost, slug, link_body([(user, "microsoft")]))
    long_title = "T" * (MAX_TITLE_LENGTH + 50)

    def lengthen(current: BookingLinkRecord) -> BookingLinkRecord:
        current.title = long_title
        return current

    storage_account().table(BookingLinkRecord).mutate(slug, "link", lengthen)

    listed = requests.get(f"{devhost.api_url}/links?userId={user}", headers=BACKEND, timeout=30)
    assert listed.status_code == 200, listed.text
    assert [link["title"] for link in listed.json()["links"]] == [long_title]
    shown = requests.get(f"{devhost.api_url}/links/{slug}", timeout=30)
    assert shown.status_code == 200, shown.text
    assert shown.json()["title"] == long_title
