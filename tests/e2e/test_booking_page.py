"""The public booking page in a real browser: a slot taken by someone else between viewing and
booking, keyboard-only booking at phone width, switching the time zone and the view, the
embeddable variant, a link that does not exist, is paused or was deleted, and a host who is not
connected."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests

from devstack.funchost import DevHost
from devstack.sandbox.admin_client import SandboxAdmin
from tests.integration.availability.helpers import Host, add_daily_series
from tests.integration.connect.helpers import BACKEND

from .conftest import PHONE, low_contrast_text, new_slug, put_link, shot, unlabelled_controls

pytestmark = pytest.mark.e2e

expect: Any = pytest.importorskip("playwright.sync_api").expect


@pytest.fixture(scope="module")
def link(devhost: DevHost, sandbox: Any) -> str:
    """One connected host (through the API) and a link of theirs, shared by this module's tests."""
    from devstack.sandbox.admin_client import SandboxAdmin as Admin
    from lib.adapters.outbound_http import make_session

    host = Host(devhost, Admin(sandbox.url, sandbox.ca_pem_path), make_session(sandbox.ca_pem_path))
    slug = new_slug()
    put_link(devhost, slug, host.user_id)
    return slug


def test_a_slot_taken_between_viewing_and_booking_gets_a_clear_message(
    devhost: DevHost, admin: SandboxAdmin, link: str, page: Any
) -> None:
    page.goto(f"{devhost.api_url}/book/{link}")
    slot = page.locator("button.slot").nth(3)
    taken = slot.get_attribute("data-start")
    slot.click()
    page.get_by_label("Name").fill("Late Comer")
    page.get_by_label("E-mail").fill("late@example.com")

    # Someone else books the same time meanwhile.
    first = requests.post(
        f"{devhost.api_url}/links/{link}/bookings",
        json={"start": taken, "attendee": {"name": "Early Bird", "email": "early@example.com"}},
        timeout=60,
    )
    assert first.status_code == 201, first.text

    page.get_by_role("button", name="Book").click()
    alert = page.get_by_role("alert")
    expect(alert).to_have_text(
        "Sorry, that time was just taken or is no longer available. Please pick another time."
    )
    expect(page.get_by_role("heading", name="Pick a time")).to_be_focused()
    expect(page.locator(f'button.slot[data-start="{taken}"]')).to_have_count(0)
    expect(page.locator("button.slot").first).to_be_visible()
    expect(page.get_by_role("heading", name="You're booked")).to_be_hidden()


def _tab_to(page: Any, predicate: str, limit: int = 80) -> None:
    """Press Tab until `predicate` (JS over document.activeElement, as `el`) holds."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"(() => {{ const el = document.activeElement; return Boolean({predicate}); }})()"):
            return
    raise AssertionError(f"Tab never reached an element where {predicate}")


def test_booking_with_the_keyboard_only_at_phone_width(
    devhost: DevHost, link: str, open_context: Any
) -> None:
    page = open_context(PHONE).new_page()
    page.goto(f"{devhost.api_url}/book/{link}")
    expect(page.locator("button.slot").first).to_be_visible()
    # Usable at 375 px: one column, nothing wider than the screen; the day view is the default.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    expect(page.get_by_role("radio", name="Day")).to_be_checked()
    assert low_contrast_text(page) == [] and unlabelled_controls(page) == []
    shot(page, "booking-phone")

    _tab_to(page, "el.classList.contains('slot')")
    focused = page.evaluate(
        "(() => { const s = getComputedStyle(document.activeElement);"
        " return {style: s.outlineStyle, width: parseFloat(s.outlineWidth)}; })()"
    )
    assert focused["style"] != "none" and focused["width"] >= 2, f"no visible focus: {focused}"
    chosen = page.evaluate("document.activeElement.getAttribute('aria-label')")
    page.keyboard.press("Enter")
    expect(page.get_by_label("Name")).to_be_focused()
    page.keyboard.type("Kay Board")
    page.keyboard.press("Tab")
    expect(page.get_by_label("E-mail")).to_be_focused()
    page.keyboard.type("kay@example.com")
    _tab_to(page, "el.id === 'book'")
    page.keyboard.press("Enter")

    done = page.get_by_role("heading", name="You're booked")
    expect(done).to_be_focused()
    expect(page.get_by_role("status")).to_have_text("Your booking is confirmed.")
    assert chosen and chosen.split(" at ")[1] in page.locator("#done-when").inner_text()
    assert low_contrast_text(page) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_the_time_zone_and_the_view_can_be_switched(devhost: DevHost, link: str, page: Any) -> None:
    page.goto(f"{devhost.api_url}/book/{link}")
    first = page.locator("button.slot").first
    starts = first.get_attribute("data-start")
    assert starts
    instant = datetime.fromisoformat(starts.replace("Z", "+00:00"))
    expect(first).to_have_text(instant.astimezone(ZoneInfo("Europe/Berlin")).strftime("%H:%M"))

    page.get_by_label("Time zone").select_option("America/New_York")
    expect(page.get_by_role("status")).to_contain_text("America/New_York")
    same = page.locator(f'button.slot[data-start="{starts}"]')
    expect(same).to_have_text(instant.astimezone(ZoneInfo("America/New_York")).strftime("%H:%M"))

    page.get_by_role("radio", name="Day").check()
    expect(page.locator("section.day")).to_have_count(1)
    page.get_by_role("button", name="Next").click()
    expect(page.locator("section.day")).to_have_count(1)
    page.get_by_role("radio", name="Week").check()
    expect(page.locator("section.day")).to_have_count(7)


def test_the_embeddable_variant_is_compact_and_may_be_framed_by_the_product(
    devhost: DevHost, link: str, page: Any
) -> None:
    answer = page.goto(f"{devhost.api_url}/book/{link}?embed=1")
    assert answer is not None
    csp = answer.headers["content-security-policy"]
    assert "frame-ancestors 'self' https://product.example" in csp
    expect(page.locator("body.embed")).to_have_count(1)
    expect(page.locator("button.slot").first).to_be_visible()


def test_a_link_that_does_not_exist_says_so(devhost: DevHost, page: Any) -> None:
    page.goto(f"{devhost.api_url}/book/no-such-link")
    expect(page.get_by_role("alert")).to_have_text(
        "This booking page doesn't exist. Please check the link you were given."
    )


def test_a_host_who_is_not_connected_shows_no_times_and_the_could_not_check_notice(
    devhost: DevHost, page: Any
) -> None:
    """Fail closed (issue 16): a host with no account connected is shown like a broken one."""
    slug = new_slug()
    put_link(devhost, slug, "host-who-never-connected")
    page.goto(f"{devhost.api_url}/book/{slug}")
    expect(page.get_by_role("status")).to_contain_text("No free times in these days")
    expect(page.locator("button.slot")).to_have_count(0)
    expect(page.locator(".notice")).to_have_text(
        "Some calendars could not be checked just now, so fewer times are shown. "
        "Try again in a few minutes for more."
    )


def test_a_host_with_too_much_busy_time_for_the_range_says_a_shorter_one_may_show_more(
    devhost: DevHost, admin: SandboxAdmin, sandbox_http: Any, page: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 21: a host over the busy-time budget (lowered here: the dev host runs in this
    process) is degraded with `too_much_busy_time`, which "try again later" would not help."""
    from lib.engine import busy_budget

    host = Host(devhost, admin, sandbox_http)
    today = datetime.now(ZoneInfo("UTC")).date()
    add_daily_series(admin, host.email, today, 1)
    slug = new_slug()
    put_link(devhost, slug, host.user_id)
    monkeypatch.setattr(busy_budget, "MAX_HOST_INTERVALS", 1)
    page.goto(f"{devhost.api_url}/book/{slug}")
    expect(page.locator("button.slot")).to_have_count(0)
    expect(page.locator(".notice")).to_contain_text("Some calendars have too many events to check")


def test_a_paused_and_a_deleted_link_say_so_in_plain_words(devhost: DevHost, page: Any) -> None:
    slug = new_slug()
    put_link(devhost, slug, "hours-only-host", active=False)
    page.goto(f"{devhost.api_url}/book/{slug}")
    expect(page.get_by_role("alert")).to_have_text(
        "This booking page is paused: the host isn't taking bookings through it right now. "
        "Please try again later or contact the host."
    )
    expect(page.locator("button.slot")).to_have_count(0)

    gone = new_slug()
    put_link(devhost, gone, "hours-only-host")
    r = requests.delete(f"{devhost.api_url}/links/{gone}", headers=BACKEND, timeout=30)
    assert r.status_code == 204, r.text
    page.goto(f"{devhost.api_url}/book/{gone}")
    expect(page.get_by_role("alert")).to_have_text(
        "This booking page has been removed. Please ask the host for a new link."
    )
