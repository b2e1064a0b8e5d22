"""The click-through someone new does after `make run`, in a real browser: open the settings page
with a user token, Connect Outlook in a pop-up (sign in, Accept), see "Connected", pick calendars,
Sync now; book on the public booking page; see the event in the sandbox mailbox view; then
reschedule and cancel on the manage page."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests

from devstack.funchost import DevHost
from devstack.sandbox import Sandbox
from devstack.sandbox.admin_client import SandboxAdmin
from tests.fixtures.sandbox import unique_email
from tests.integration.connect.helpers import connections

from .conftest import (
    low_contrast_text,
    new_slug,
    new_user,
    put_link,
    settings_url,
    shot,
    unlabelled_controls,
)

pytestmark = pytest.mark.e2e

expect: Any = pytest.importorskip("playwright.sync_api").expect


def seed_host(admin: SandboxAdmin) -> str:
    email = unique_email("alex.host", "contoso.example")
    admin.add_account(email, kind="work", display_name="Alex Host", time_zone="W. Europe Standard Time")
    admin.add_calendar(
        email, "Team offsite", can_edit=False, owner_name="Team Lead", owner_address="lead@contoso.example"
    )
    return email


def sign_in_in(window: Any, email: str, *, action: str = "Accept", popup: bool = True) -> None:
    """The sandbox's Microsoft sign-in page, as a user clicks it: pick the account, Accept (or
    Cancel), Continue. In a pop-up, returns once the callback page has closed it."""
    window.get_by_label(re.compile(re.escape(email))).check()
    window.get_by_role("button", name=action).click()
    # response_mode=form_post without script: the page has a Continue button that posts to the app.
    if popup:
        with window.expect_event("close"):
            window.get_by_role("button", name="Continue").click()
    else:
        window.get_by_role("button", name="Continue").click()


def events_of(admin: SandboxAdmin, email: str) -> list[dict[str, Any]]:
    return [e for cal in admin.mailbox(email)["calendars"] for e in cal["events"]]


def test_connect_pick_calendars_book_and_see_the_event_in_the_mailbox(
    devhost: DevHost, admin: SandboxAdmin, sandbox: Sandbox, page: Any
) -> None:
    user, slug, email = new_user(), new_slug(), seed_host(admin)
    put_link(devhost, slug, user)

    # Settings: nothing connected yet; Connect Outlook opens the Microsoft sign-in in a pop-up.
    page.goto(settings_url(devhost, user))
    assert "#token" not in page.url  # the token left the address bar at once
    expect(page.get_by_text("No calendar account is connected yet.")).to_be_visible()
    with page.expect_popup() as popup_info:
        page.get_by_role("button", name="Connect Outlook").click()
    popup = popup_info.value
    expect(popup.get_by_role("heading", name=re.compile("Sign in"))).to_be_visible()
    sign_in_in(popup, email)

    banner = page.locator("#connected")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text(f"{email} is connected")
    expect(banner).to_be_focused()
    account = page.locator("li.account")
    expect(account).to_contain_text(email)
    expect(account.locator(".badge")).to_have_text("Connected")

    # The two pickers: conflicts (many, read-only calendars included), bookings (writable only).
    conflicts = page.get_by_role("group", name="Check for conflicts")
    writes = page.get_by_role("group", name="Add bookings to")
    expect(conflicts.get_by_label("Calendar (default)")).to_be_checked()
    expect(writes.get_by_label("Calendar (default)")).to_be_checked()
    offsite = conflicts.get_by_label(re.compile("Team offsite"))
    expect(offsite).not_to_be_checked()
    expect(writes.get_by_label(re.compile("Team offsite"))).to_have_count(0)
    offsite.check()
    page.get_by_role("button", name="Save calendars").click()
    expect(page.get_by_role("status")).to_have_text("Calendars saved.")
    page.get_by_role("button", name=re.compile("^Sync now")).click()
    expect(page.get_by_role("status")).to_contain_text("Sync started")
    assert low_contrast_text(page) == [] and unlabelled_controls(page) == []
    shot(page, "settings-connected")
    [connection] = connections(devhost, user)
    assert connection["status"] == "connected"

    # The booking page: free slots in the visitor's zone, pick one, name and e-mail, Book.
    page.goto(f"{devhost.api_url}/book/{slug}")
    expect(page.get_by_role("heading", name="Intro call", level=1)).to_be_visible()
    expect(page.get_by_label("Time zone")).to_have_value("Europe/Berlin")
    slot = page.locator("button.slot").first
    expect(slot).to_be_visible()
    shot(page, "booking-slots")
    start_utc = slot.get_attribute("data-start")
    slot.click()
    expect(page.get_by_label("Name")).to_be_focused()
    page.get_by_label("Name").fill("Ada Lovelace")
    page.get_by_label("E-mail").fill("ada@example.com")
    page.get_by_role("button", name="Book").click()

    done = page.get_by_role("heading", name="You're booked")
    expect(done).to_be_visible()
    expect(done).to_be_focused()
    expect(page.get_by_role("link", name="Join the Microsoft Teams meeting")).to_be_visible()
    manage_link = page.get_by_role("link", name="Manage your booking")
    assert re.search(r"/api/book/manage/[0-9a-f-]+#token=", manage_link.get_attribute("href") or "")
    shot(page, "booking-confirmed")

    # The event in the host's Outlook (the sandbox mailbox view), with the attendee invited.
    [event] = [e for e in events_of(admin, email) if "Ada Lovelace" in e["subject"]]
    assert event["attendees"][0]["emailAddress"]["address"] == "ada@example.com"
    assert start_utc is not None
    mailbox = page.context.new_page()
    mailbox.goto(f"{sandbox.url}/_admin/view/{email}")
    row = mailbox.get_by_role("row", name=re.compile("Intro call with Ada Lovelace"))
    expect(row).to_be_visible()
    expect(row).to_contain_text("ada@example.com")
    expect(row.get_by_role("link", name="Teams link")).to_be_visible()
    shot(mailbox, "sandbox-mailbox")


def test_the_manage_page_reschedules_and_cancels(
    devhost: DevHost, admin: SandboxAdmin, page: Any, sandbox_http: requests.Session
) -> None:
    from tests.integration.connect.helpers import connect

    user, slug, email = new_user(), new_slug(), seed_host(admin)
    account_id = next(a["id"] for a in admin.accounts() if a["email"] == email)
    assert connect(devhost, sandbox_http, user, account_id).status_code == 200
    put_link(devhost, slug, user)
    page.goto(f"{devhost.api_url}/book/{slug}")
    page.locator("button.slot").first.click()
    page.get_by_label("Name").fill("Grace Hopper")
    page.get_by_label("E-mail").fill("grace@example.com")
    page.get_by_role("button", name="Book").click()
    manage_href = page.get_by_role("link", name="Manage your booking").get_attribute("href")
    assert manage_href

    page.goto(manage_href)
    expect(page.get_by_role("heading", name="Your booking")).to_be_visible()
    assert "token=" not in page.url  # moved out of the address bar (and the referrer) at once
    # A link sent before the token moved to the fragment (`?token=`) still opens the booking, and its
    # token leaves the address bar the same way.
    legacy = page.context.new_page()
    legacy.goto(manage_href.replace("#token=", "?token="))
    expect(legacy.get_by_role("heading", name="Your booking")).to_be_visible()
    expect(legacy.locator("#state")).to_have_text("Confirmed")
    assert "token=" not in legacy.url
    legacy.close()
    expect(page.locator("#state")).to_have_text("Confirmed")
    expect(page.locator("#what")).to_have_text("Intro call")
    before = page.locator("#when").inner_text()

    page.get_by_role("button", name="Reschedule").click()
    expect(page.get_by_role("heading", name="Pick a new time")).to_be_focused()
    new_slot = page.locator("button.slot").nth(1)
    expect(new_slot).to_be_visible()
    assert low_contrast_text(page) == [] and unlabelled_controls(page) == []
    shot(page, "manage-reschedule")
    new_start = new_slot.get_attribute("data-start")
    new_slot.click()
    expect(page.get_by_role("heading", name="Move your booking?")).to_be_focused()
    page.get_by_role("button", name="Move booking").click()
    expect(page.get_by_role("status")).to_contain_text("Your booking has been moved")
    assert page.locator("#when").inner_text() != before
    [event] = [e for e in events_of(admin, email) if "Grace Hopper" in e["subject"]]
    assert new_start and event["start"]["dateTime"][:16] == new_start[:16]

    page.get_by_role("button", name="Cancel booking").click()
    page.get_by_role("button", name="Yes, cancel booking").click()
    expect(page.locator("#state")).to_have_text("Cancelled")
    expect(page.get_by_role("button", name="Reschedule")).to_be_hidden()
    assert not [e for e in events_of(admin, email) if "Grace Hopper" in e["subject"]]
