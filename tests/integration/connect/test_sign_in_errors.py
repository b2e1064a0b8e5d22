"""Sign-in failures through the real connect flow against the sandbox: every class of AADSTS code
gets its own problem code and words (never "unauthorized"); refreshes that need the user become
needs_reconnect; the admin-consent link comes back to a page that says whether the approval worked."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from devstack.funchost import DevHost
from devstack.sandbox.admin_client import SandboxAdmin
from tests.fixtures.devhost import PRODUCT_ORIGIN
from tests.fixtures.sandbox import unique_email

from .helpers import (
    BACKEND,
    answer_callback,
    approve_as_admin,
    connect,
    connections,
    popup_message,
    stable_approval_link,
)


def _user() -> str:
    return f"user-{uuid.uuid4().hex[:8]}"


def _tenant() -> str:
    # A tenant of its own: admin consent is tenant-wide, and the sandbox lives for the whole session.
    return str(uuid.uuid4())


@pytest.mark.parametrize(
    ("aadsts", "code", "words"),
    [
        (53000, "conditional_access_blocked", "Conditional Access"),
        (53001, "conditional_access_blocked", "Conditional Access"),
        (53003, "conditional_access_blocked", "Conditional Access"),
        (530003, "conditional_access_blocked", "not managed or compliant"),
        (50105, "user_not_assigned", "assign you to Slotbridge"),
        (50020, "account_not_allowed", "work account"),
        (50034, "account_not_allowed", "work account"),
        (50076, "interaction_required", "multi-factor authentication"),
        (50079, "interaction_required", "multi-factor authentication"),
        (50158, "interaction_required", "another sign-in step"),
        (65001, "consent_required", "accept the permissions"),
    ],
)
def test_each_class_of_sign_in_failure_gets_its_own_code_and_words(
    devhost: DevHost, admin: SandboxAdmin, sandbox_http: requests.Session, aadsts: int, code: str, words: str
) -> None:
    account = admin.add_account(unique_email(), sign_in_failure=aadsts)["id"]
    user = _user()
    page = connect(devhost, sandbox_http, user, account)
    message, origin = popup_message(page)  # type: ignore[misc]
    assert origin == PRODUCT_ORIGIN
    assert (message["status"], message["code"]) == ("error", code)
    assert words in message["message"] and words in page.text
    assert page.status_code in (401, 403)
    if code == "consent_required":  # an administrator may have to give it: the link comes along
        assert "/adminconsent?" in message["adminConsentUrl"]
    else:
        assert "adminConsentUrl" not in message
    assert connections(devhost, user) == []


def test_redirect_mode_carries_the_specific_code(
    devhost: DevHost, admin: SandboxAdmin, sandbox_http: requests.Session
) -> None:
    account = admin.add_account(unique_email(), sign_in_failure=50105)["id"]
    page = connect(devhost, sandbox_http, _user(), account, mode="redirect", returnUrl=f"{PRODUCT_ORIGIN}/s")
    assert page.status_code == 303
    query = parse_qs(urlsplit(page.headers["Location"]).query)
    assert query["slotbridge_connect"] == ["error"] and query["code"] == ["user_not_assigned"]


@pytest.mark.parametrize("aadsts", [50158, 50079, 65001, 53000, 50105])
def test_a_refresh_that_needs_the_user_marks_the_connection_needs_reconnect(
    devhost: DevHost, admin: SandboxAdmin, sandbox_http: requests.Session, aadsts: int
) -> None:
    """An external security challenge or MFA now due (interaction_required), consent removed, a
    device policy, assignment removed: retrying the refresh cannot help, so the user is asked to
    reconnect (not told Outlook is unavailable, again and again)."""
    account = admin.add_account(unique_email())["id"]
    user = _user()
    connect(devhost, sandbox_http, user, account)
    assert connections(devhost, user)[0]["status"] == "connected"
    admin.update_account(account, sign_in_failure=aadsts)
    admin.expire_access_tokens(account)
    r = requests.get(f"{devhost.api_url}/users/{user}/calendars", headers=BACKEND, timeout=30)
    assert r.status_code == 200, r.text
    [conn] = connections(devhost, user)
    assert conn["status"] == "needs_reconnect"
    assert r.json()["unavailable"][0]["code"] == "needs_reconnect"


def test_admin_consent_round_trip_lets_the_organisation_connect(
    devhost: DevHost, admin: SandboxAdmin, sandbox_http: requests.Session
) -> None:
    tenant = _tenant()
    host = admin.add_account(
        unique_email("host", "fabrikam.example"), tenant_id=tenant, admin_approval_required=True
    )["id"]
    it = admin.add_account(unique_email("it-admin", "fabrikam.example"), tenant_id=tenant)["id"]
    user = _user()

    # The user cannot connect: the page hands over the approval link for the administrator.
    message, _ = popup_message(connect(devhost, sandbox_http, user, host))  # type: ignore[misc]
    assert message["code"] == "admin_approval_required"
    approval_link = message["adminConsentUrl"]

    # The administrator approves at Microsoft and lands back on Slotbridge, which says it worked.
    landing = approve_as_admin(devhost, sandbox_http, approval_link, it)
    assert landing.status_code == 200, landing.text
    assert "Slotbridge is approved" in landing.text and "can connect" in landing.text
    assert "no state" not in landing.text.lower()
    csp = landing.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert landing.headers["Referrer-Policy"] == "no-referrer"
    assert landing.headers["X-Content-Type-Options"] == "nosniff"
    assert "<script" not in landing.text
    assert [c["tenant_id"] for c in admin.admin_consents()].count(tenant) == 1

    # The link works again (forwarded, clicked twice): it is not single use.
    assert approve_as_admin(devhost, sandbox_http, approval_link, it).status_code == 200

    # Now the user connects.
    message, _ = popup_message(connect(devhost, sandbox_http, user, host))  # type: ignore[misc]
    assert message["status"] == "connected"
    assert connections(devhost, user)[0]["status"] == "connected"


def test_a_declined_admin_consent_says_so(
    devhost: DevHost, admin: SandboxAdmin, sandbox_http: requests.Session
) -> None:
    tenant = _tenant()
    host = admin.add_account(unique_email("host"), tenant_id=tenant, admin_approval_required=True)["id"]
    it = admin.add_account(unique_email("it-admin"), tenant_id=tenant)["id"]
    message, _ = popup_message(connect(devhost, sandbox_http, _user(), host))  # type: ignore[misc]
    landing = approve_as_admin(devhost, sandbox_http, message["adminConsentUrl"], it, action="cancel")
    assert landing.status_code == 403
    assert "Slotbridge was not approved" in landing.text and "were not approved" in landing.text
    assert tenant not in [c["tenant_id"] for c in admin.admin_consents()]


def test_admin_consent_errors_are_shown_in_words(devhost: DevHost, admin: SandboxAdmin) -> None:
    """What the admin-consent endpoint can answer besides a decline, and answers whose state is not
    Slotbridge's: a page in words, never the sign-in "no state" page."""
    started = requests.post(
        f"{devhost.api_url}/users/{_user()}/connections",
        json={"openerOrigin": PRODUCT_ORIGIN},
        headers=BACKEND,
        timeout=10,
    )
    state = parse_qs(urlsplit(started.json()["adminConsentUrl"]).query)["state"][0]
    blocked = answer_callback(
        devhost, error="access_denied", error_description="AADSTS53003: Blocked.", state=state
    )
    assert blocked.status_code == 403 and "Conditional Access" in blocked.text
    not_admin = answer_callback(
        devhost, error="access_denied", error_description="AADSTS90094: Needs admin.", state=state
    )
    assert not_admin.status_code == 403 and "Only an administrator" in not_admin.text
    # The state proves nothing (the anonymous approval link hands them out) and the answer changes
    # nothing in Slotbridge: a foreign state still reads as what Microsoft answered.
    foreign = answer_callback(devhost, admin_consent="True", tenant=_tenant(), state="adminconsent.v1.x.y")
    assert foreign.status_code == 200 and "Slotbridge is approved" in foreign.text
    neither = answer_callback(devhost, state="adminconsent.x")
    assert neither.status_code == 400 and "does not say whether the approval worked" in neither.text


def test_the_approval_link_printed_without_a_state_reads_as_what_microsoft_answered(
    devhost: DevHost, admin: SandboxAdmin, sandbox_http: requests.Session
) -> None:
    """Links printed by older register-app.sh (`/organizations/adminconsent?client_id=`) carry no
    state: an approval comes back as `admin_consent=True&tenant` alone, a decline as `error` alone.
    Microsoft recorded the approval, so the page says so, not "does not come from Slotbridge"."""
    tenant = _tenant()
    it = admin.add_account(unique_email("it-admin"), tenant_id=tenant)["id"]
    hop = stable_approval_link(devhost)
    query = parse_qs(urlsplit(hop.headers["Location"]).query)
    stateless = (
        hop.headers["Location"].split("?")[0]
        + "?"
        + urlencode({name: values[0] for name, values in query.items() if name != "state"})
    )
    landing = approve_as_admin(devhost, sandbox_http, stateless, it)
    assert landing.status_code == 200, landing.text
    assert "Slotbridge is approved" in landing.text and "no state" not in landing.text.lower()
    assert tenant in [c["tenant_id"] for c in admin.admin_consents()]
    declined = approve_as_admin(devhost, sandbox_http, stateless, it, action="cancel")
    assert declined.status_code == 403 and "were not approved" in declined.text
    # A callback that is neither an approval answer nor a sign-in with a known flow: the plain page.
    nothing = answer_callback(devhost, code="x")
    assert nothing.status_code == 400 and "no state" in nothing.text


def test_the_stable_approval_link_goes_to_microsoft_with_a_state_and_lands_on_the_approval_page(
    devhost: DevHost, admin: SandboxAdmin, sandbox_http: requests.Session
) -> None:
    """The link register-app.sh prints (no state of its own) goes through the app, so the
    administrator comes back to the approval page, not to a "no state" page."""
    hop = stable_approval_link(devhost)
    assert hop.status_code == 302 and hop.headers["Cache-Control"] == "no-store"
    target = hop.headers["Location"]
    assert "/organizations/v2.0/adminconsent?" in target
    assert parse_qs(urlsplit(target).query)["state"][0].startswith("adminconsent.")
    it = admin.add_account(unique_email("it-admin"), tenant_id=_tenant())["id"]
    landing = approve_as_admin(devhost, sandbox_http, target, it)
    assert landing.status_code == 200 and "Slotbridge is approved" in landing.text
