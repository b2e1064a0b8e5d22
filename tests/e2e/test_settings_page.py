"""The settings page in a real browser: a blocked pop-up falls back to a full redirect that ends
"Connected"; a cancelled sign-in, an admin-approval tenant and every other class of sign-in failure
get clear messages; the administrator's approval link lands on a page that says it worked, after
which the user connects; Disconnect; a page opened without a token says what to do; a calendar
deleted in Outlook is named, with what to do."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from devstack.funchost import DevHost
from devstack.sandbox.admin_client import SandboxAdmin
from tests.fixtures.sandbox import unique_email
from tests.integration.availability.helpers import Host, availability, link_body, next_monday
from tests.integration.availability.helpers import put_link as put_api_link
from tests.integration.connect.helpers import connections

from .conftest import DESKTOP, new_slug, new_user, settings_url, shot
from .test_click_through import sign_in_in

pytestmark = pytest.mark.e2e

expect: Any = pytest.importorskip("playwright.sync_api").expect


def connect_in_popup(page: Any, email: str, action: str = "Accept") -> None:
    """Connect Outlook from the settings page: the pop-up opens on the click, and the account
    signs in there (or cancels)."""
    with page.expect_popup() as popup_info:
        page.get_by_role("button", name="Connect Outlook").click()
    sign_in_in(popup_info.value, email, action=action)


def test_a_blocked_popup_falls_back_to_a_full_redirect_and_ends_connected(
    devhost: DevHost, admin: SandboxAdmin, context: Any
) -> None:
    user, email = new_user(), unique_email("blocked", "contoso.example")
    admin.add_account(email, kind="work", display_name="Pat Blocked")
    context.add_init_script("window.open = () => null")  # what a pop-up blocker does to window.open
    page = context.new_page()
    page.goto(settings_url(devhost, user))
    page.get_by_role("button", name="Connect Outlook").click()

    # The whole tab went to Microsoft (the sandbox) instead of a pop-up.
    page.wait_for_url(re.compile(r"^https://127\.0\.0\.1:\d+/.*authorize"))
    assert len(context.pages) == 1
    sign_in_in(page, email, popup=False)

    page.wait_for_url(re.compile(rf"^{re.escape(devhost.api_url)}/settings"))
    expect(page.locator("#connected")).to_contain_text(f"{email} is connected")
    assert "slotbridge_connect" not in page.url  # the result was read and removed from the address
    expect(page.locator("li.account")).to_contain_text(email)
    [connection] = connections(devhost, user)
    assert connection["email"] == email and connection["status"] == "connected"

    # Disconnect, with a confirmation step; the account and its calendars go away.
    page.get_by_role("button", name=re.compile("^Disconnect")).click()
    page.get_by_role("button", name=re.compile("^Yes, disconnect")).click()
    expect(page.get_by_role("status")).to_have_text(f"{email} is disconnected.")
    expect(page.get_by_text("No calendar account is connected yet.")).to_be_visible()
    expect(page.get_by_role("button", name="Connect Outlook")).to_be_focused()
    assert connections(devhost, user) == []


def test_a_cancelled_sign_in_says_nothing_was_connected(
    devhost: DevHost, admin: SandboxAdmin, page: Any
) -> None:
    user, email = new_user(), unique_email("cancels", "contoso.example")
    admin.add_account(email, kind="work")
    page.goto(settings_url(devhost, user))
    connect_in_popup(page, email, action="Cancel")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("The sign-in was cancelled, so nothing was connected.")
    expect(page.locator("#connected")).to_be_hidden()
    assert connections(devhost, user) == []


def test_an_organisation_that_needs_admin_approval_gets_the_approval_link(
    devhost: DevHost, admin: SandboxAdmin, page: Any
) -> None:
    user, email = new_user(), unique_email("needs-admin", "fabrikam.example")
    admin.add_account(email, kind="work", admin_approval_required=True)
    page.goto(settings_url(devhost, user))
    connect_in_popup(page, email)
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("administrator must approve")
    expect(alert.get_by_role("link", name="Approval link for your administrator")).to_have_attribute(
        "href", re.compile("adminconsent")
    )
    shot(page, "settings-admin-approval")


def test_the_administrators_approval_lands_on_a_page_that_says_it_worked_then_the_user_connects(
    devhost: DevHost, admin: SandboxAdmin, open_context: Any
) -> None:
    tenant = str(uuid.uuid4())  # admin consent is tenant-wide: a tenant of this test's own
    user = new_user()
    email = unique_email("needs-admin", "fabrikam.example")
    it_email = unique_email("it-admin", "fabrikam.example")
    admin.add_account(email, kind="work", tenant_id=tenant, admin_approval_required=True)
    admin.add_account(it_email, kind="work", tenant_id=tenant, display_name="Ivy Admin")

    page = open_context(DESKTOP).new_page()
    page.goto(settings_url(devhost, user))
    connect_in_popup(page, email)
    link = page.get_by_role("alert").get_by_role("link", name="Approval link for your administrator")
    approval_url = link.get_attribute("href")

    # The administrator opens the link in their own browser, approves, and lands on Slotbridge.
    admin_page = open_context(DESKTOP).new_page()
    admin_page.goto(approval_url)
    admin_page.get_by_label(re.compile(re.escape(it_email))).check()
    admin_page.get_by_role("button", name="Accept for your organisation").click()
    admin_page.wait_for_url(re.compile(rf"^{re.escape(devhost.api_url)}/auth/callback\?"))
    expect(admin_page.get_by_role("heading", level=1)).to_have_text("Slotbridge is approved")
    expect(admin_page.locator("#message")).to_contain_text("They can connect their Outlook calendar now")
    shot(admin_page, "admin-consent-approved")

    # Back in the settings page, the user connects.
    connect_in_popup(page, email)
    expect(page.locator("#connected")).to_contain_text(f"{email} is connected")
    assert [c["status"] for c in connections(devhost, user)] == ["connected"]
    admin_page.close()  # the last screen (the screenshot) is the connected settings page


@pytest.mark.parametrize(
    ("aadsts", "sentence"),
    [
        (530003, "this device isn't managed or compliant"),
        (50105, "your account isn't assigned yet"),
        (50020, "pick your work account"),
        (50079, "such as multi-factor authentication"),
        (65001, "accept the permissions"),
    ],
)
def test_each_sign_in_failure_reads_as_what_to_do_not_an_expired_session(
    devhost: DevHost, admin: SandboxAdmin, page: Any, aadsts: int, sentence: str
) -> None:
    user, email = new_user(), unique_email("fails", "contoso.example")
    admin.add_account(email, kind="work", sign_in_failure=aadsts)
    page.goto(settings_url(devhost, user))
    connect_in_popup(page, email)
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(sentence)
    expect(alert).not_to_contain_text("expired")
    assert connections(devhost, user) == []


def test_without_a_token_the_page_says_how_to_open_it(devhost: DevHost, page: Any) -> None:
    page.goto(f"{devhost.api_url}/settings")
    expect(page.get_by_role("alert")).to_contain_text("needs a sign-in link from the product")
    expect(page.get_by_role("button", name="Connect Outlook")).to_be_hidden()


def test_an_expired_token_gets_a_clear_message(devhost: DevHost, page: Any) -> None:
    from lib.core.auth import issue_user_token
    from tests.fixtures.devhost import USER_TOKEN_KEY

    token = issue_user_token(USER_TOKEN_KEY, new_user(), 60, now=1_000_000)
    page.goto(f"{devhost.api_url}/settings#token={token}")
    expect(page.get_by_role("alert")).to_contain_text("Your settings session has expired or is not valid")


def test_a_calendar_deleted_in_outlook_is_named_with_what_to_do(
    devhost: DevHost, admin: SandboxAdmin, sandbox_http: Any, page: Any
) -> None:
    host = Host(devhost, admin, sandbox_http)
    rota = admin.add_calendar(host.email, "Team rota")
    host.set_conflict_calendars(host.default_calendar_id, rota["id"])
    slug = new_slug()
    put_api_link(devhost, slug, link_body([(host.user_id, "microsoft")]))
    admin.delete_calendar(host.email, rota["id"])
    assert availability(devhost, slug, next_monday()).json()["degradedHosts"]  # a page visit finds it

    page.goto(settings_url(devhost, host.user_id))
    notice = page.locator("#unavailable .missing-calendar")
    expect(notice).to_have_text(
        f"“Team rota” ({host.email}) was deleted in Outlook or is no longer shared with you, so your "
        "booking pages offer no times until it is replaced. Pick another calendar below (or leave it "
        "out) and press Save calendars."
    )
    shot(page, "settings-calendar-missing")

    page.get_by_role("button", name="Save calendars").click()
    expect(page.get_by_role("status")).to_have_text("Calendars saved.")
    expect(notice).to_have_count(0)
    assert connections(devhost, host.user_id)[0]["missingCalendars"] == []
