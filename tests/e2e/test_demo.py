"""`make run`'s demo, clicked through in a real browser with the URLs it prints: the settings page as
the demo host, Connect Outlook with the sandbox's alex.host@contoso.example, the booking page of the
demo link, and the booking's event in the sandbox mailbox view."""

from __future__ import annotations

import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from devstack.demo import DEMO_HOST_EMAIL
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
        }.items()
        if (match := re.search(pattern, text))
    }
    return proc, urls, output


def test_make_run_demo_connect_book_and_see_the_event(
    tmp_path: Path, chromium: Any, open_context: Any
) -> None:
    proc, urls, output = _start_stack(tmp_path)
    try:
        assert set(urls) == {"settings", "booking", "mailbox"}, "".join(output[-40:])
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
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
