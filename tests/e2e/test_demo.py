"""`make run`'s demo, clicked through in a real browser with the URLs it prints: the settings page as
the demo host, Connect Outlook with the sandbox's alex.host@contoso.example, the booking page of the
demo link, and the booking's event in the sandbox mailbox view; then the Google host connects
bo.host@gmail.example on its own settings page and the mixed pool (Outlook, Google, no calendar)
answers for all three and books a time Alex is busy on Bo, in Google Calendar with a Meet link."""

from __future__ import annotations

import queue
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from devstack.demo import DEMO_GOOGLE_HOST_EMAIL, DEMO_GOOGLE_USER_ID, DEMO_HOST_EMAIL, DEMO_POOL_SLUG
from devstack.google.admin_client import GoogleAdmin
from devstack.http_server import free_loopback_port

from .conftest import shot
from .test_click_through import sign_in_in

pytestmark = pytest.mark.e2e

expect: Any = pytest.importorskip("playwright.sync_api").expect
ROOT = Path(__file__).resolve().parents[2]


def _start_stack(tmp_path: Path) -> tuple[subprocess.Popen[str], dict[str, str], list[str]]:
    port, sandbox_port = free_loopback_port(), free_loopback_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "devstack.run",
            "--port",
            str(port),
            "--sandbox-port",
            str(sandbox_port),
            "--storage-ports",
            "free",
            "--settings",
            str(tmp_path / "local.settings.json"),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout or []], daemon=True).start()
    output: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            if proc.poll() is not None:
                break
            continue
        output.append(line)
        if line.startswith("Press Ctrl-C"):
            break
    text = "".join(output)
    urls = {
        name: match.group(1)
        for name, pattern in {
            "settings": r"Settings page\s+(\S+)",
            "booking": r"Booking page\s+(\S+)",
            "mailbox": r"Sandbox mailbox\s+(\S+)",
            "google_settings": r"Google settings\s+(\S+)",
            "pool": r"Team booking page\s+(\S+)",
            "google": r"Google stand-in\s+(\S+)",
            "ca": r"Microsoft sandbox\s+\S+\s+\(CA: (\S+)\)",
        }.items()
        if (match := re.search(pattern, text))
    }
    return proc, urls, output


def test_make_run_demo_connect_book_and_see_the_event(
    tmp_path: Path, chromium: Any, open_context: Any
) -> None:
    proc, urls, output = _start_stack(tmp_path)
    try:
        assert set(urls) == {"settings", "booking", "mailbox", "google_settings", "pool", "google", "ca"}, (
            "".join(output[-40:])
        )
        page = open_context().new_page()
        page.goto(urls["settings"])
        with page.expect_popup() as popup_info:
            page.get_by_role("button", name="Connect Outlook").click()
        popup = popup_info.value
        sign_in_in(popup, DEMO_HOST_EMAIL)
        expect(page.locator("#connected")).to_contain_text(f"{DEMO_HOST_EMAIL} is connected")
        page.get_by_role("button", name="Save calendars").click()
        expect(page.get_by_role("status")).to_have_text("Calendars saved.")

        page.goto(urls["booking"])
        expect(page.get_by_role("heading", name="Intro call with Alex", level=1)).to_be_visible()
        page.locator("button.slot").first.click()
        page.get_by_label("Name").fill("Demo Visitor")
        page.get_by_label("E-mail").fill("visitor@example.com")
        page.get_by_role("button", name="Book").click()
        expect(page.get_by_role("heading", name="You're booked")).to_be_visible()
        expect(page.get_by_role("link", name="Join the Microsoft Teams meeting")).to_be_visible()

        page.goto(urls["mailbox"])
        expect(
            page.get_by_role("row", name=re.compile(r"Intro call with Alex \(Demo Visitor\)"))
        ).to_be_visible()
        expect(page.get_by_role("row", name=re.compile("Weekly planning"))).to_be_visible()
        shot(page, "demo-mailbox")

        _connect_the_google_host(page, urls["google_settings"])
        _book_the_pool_on_the_google_host(urls)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def _connect_the_google_host(page: Any, settings_url: str) -> None:
    page.goto(settings_url)
    with page.expect_popup() as popup_info:
        page.get_by_role("button", name="Connect Google Calendar").click()
    popup = popup_info.value
    popup.wait_for_url(re.compile(r"/o/oauth2/v2/auth"))
    popup.get_by_label(re.compile(re.escape(DEMO_GOOGLE_HOST_EMAIL))).check()
    with popup.expect_event("close"):
        popup.get_by_role("button", name="Continue").click()
    expect(page.locator("#connected")).to_contain_text(f"{DEMO_GOOGLE_HOST_EMAIL} is connected")
    page.get_by_role("button", name="Save calendars").click()
    expect(page.get_by_role("status")).to_have_text("Calendars saved.")


def _book_the_pool_on_the_google_host(urls: dict[str, str]) -> None:
    api_url = urls["pool"].split("/book/")[0]
    today = datetime.now(UTC).date()
    window = {"start": str(today), "end": str(today + timedelta(days=13)), "timezone": "Europe/Berlin"}
    deadline = time.monotonic() + 30
    while True:  # the new connections' first syncs fill the busy cache
        r = requests.get(f"{api_url}/links/{DEMO_POOL_SLUG}/availability", params=window, timeout=30)
        assert r.status_code == 200, r.text
        if r.json()["complete"] or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert r.json()["complete"] is True, r.text  # every host answered: Outlook, Google, weekly hours
    # Mondays 09:00 Berlin: Alex (tried first) has "Weekly planning" in Outlook; Bo is free in Google.
    [monday_nine, *_] = [
        s
        for s in r.json()["slots"]
        if date.fromisoformat(s["start"][:10]).weekday() == 0 and s["start"][11:16] == "09:00"
    ]
    booked = requests.post(
        f"{api_url}/links/{DEMO_POOL_SLUG}/bookings",
        json={
            "start": monday_nine["startUtc"],
            "attendee": {"name": "Pool Visitor", "email": "pool@example.com"},
        },
        timeout=60,
    )
    assert booked.status_code == 201, booked.text
    booking_id = booked.json()["bookingId"]
    seen = requests.get(
        f"{api_url}/bookings/{booking_id}", headers={"X-Api-Key": "local-dev-api-key"}, timeout=30
    )
    assert seen.json()["hostUserId"] == DEMO_GOOGLE_USER_ID, seen.text
    gadmin = GoogleAdmin(urls["google"], urls["ca"])
    [event] = [
        e
        for e in gadmin.events(DEMO_GOOGLE_HOST_EMAIL)
        if (e.get("extendedProperties") or {}).get("private", {}).get("slotbridgeBookingId") == booking_id
    ]
    assert event["attendees"][0]["email"] == "pool@example.com"
    assert str(event.get("hangoutLink", "")).startswith("https://meet.google.com/"), event
