"""Google Calendar in Chromium, against the Google stand-in: the "Connect Google Calendar" button
beside "Connect Outlook" opens Google's consent page in a pop-up, the user picks the account and
continues, the pop-up closes and the page says the account is connected, with its calendars to
choose from; the booking page of a Google host names the meeting Google Meet."""

from __future__ import annotations

import re
from typing import Any

import pytest

from devstack.funchost import DevHost
from devstack.google.admin_client import GoogleAdmin
from tests.fixtures.google import unique_gmail
from tests.integration.connect.helpers import connections
from tests.integration.google import conftest as google_fixtures
from tests.integration.google.helpers import GoogleHost

from .conftest import new_slug, new_user, put_link, settings_url

pytestmark = pytest.mark.e2e

expect: Any = pytest.importorskip("playwright.sync_api").expect

# The Google stand-in's fixtures, and the e2e app with Google Calendar turned on.
gstandin, gadmin, ghttp = google_fixtures.gstandin, google_fixtures.gadmin, google_fixtures.ghttp
app_env = google_fixtures.app_env


def test_connect_google_calendar_in_a_popup_and_see_its_calendars(
    devhost: DevHost, gadmin: GoogleAdmin, page: Any
) -> None:
    user, email = new_user(), unique_gmail("clicks")
    gadmin.add_user(email, name="Grace Google")
    page.goto(settings_url(devhost, user))
    expect(page.get_by_role("button", name="Connect Outlook")).to_be_visible()
    button = page.get_by_role("button", name="Connect Google Calendar")
    expect(button).to_be_visible()

    with page.expect_popup() as popup_info:
        button.click()
    popup = popup_info.value
    popup.wait_for_url(re.compile(r"/o/oauth2/v2/auth"))
    expect(popup.get_by_text("Sign in with Google")).to_be_visible()
    popup.get_by_label(re.compile(re.escape(email))).check()
    with popup.expect_event("close"):
        popup.get_by_role("button", name="Continue").click()

    expect(page.locator("#connected")).to_contain_text(f"{email} is connected")
    expect(page.locator("li.account")).to_contain_text("Google Calendar")
    expect(page.get_by_role("button", name="Connect another Google account")).to_be_visible()
    expect(page.locator("#calendars")).to_be_visible()
    expect(page.locator("#conflict-list")).to_contain_text(email)
    [connection] = connections(devhost, user)
    assert connection["provider"] == "google" and connection["email"] == email


def test_the_booking_page_names_google_meet_for_a_google_host(
    devhost: DevHost, gadmin: GoogleAdmin, ghttp: Any, page: Any
) -> None:
    host = GoogleHost(devhost, gadmin, ghttp, time_zone="UTC")
    slug = new_slug()
    put_link(devhost, slug, host.user_id, hosts=[{"userId": host.user_id, "calendarProvider": "google"}])

    page.goto(f"{devhost.api_url}/book/{slug}")
    expect(page.locator("#summary")).to_contain_text("Video meeting")
    page.locator("button.slot").first.click()
    page.get_by_label("Name").fill("Ada Lovelace")
    page.get_by_label("E-mail").fill("ada@example.com")
    page.get_by_role("button", name="Book").click()

    expect(page.get_by_role("heading", name="You're booked")).to_be_visible()
    meet = page.get_by_role("link", name="Join the Google Meet meeting")
    expect(meet).to_be_visible()
    assert (meet.get_attribute("href") or "").startswith("https://meet.google.com/")
    expect(page.locator("#done-join-label")).to_have_text("Google Meet")
