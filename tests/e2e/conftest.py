"""Browser tests: Debian's Chromium, headless, driven by Playwright for Python against the real
function app on the dev host (Azurite + the Microsoft sandbox).

`playwright install` cannot download browsers here, so the system Chromium is used
(`executable_path=/usr/bin/chromium`); where it is missing the browser tests are skipped with the
command that installs it. Every browser test leaves a screenshot of its last screen in
artifacts/screenshots/<test>.png; `shot()` saves named ones (the README's come from those).
"""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests

from devstack.funchost import DevHost
from devstack.http_server import ServerThread, free_loopback_port
from lib.core.auth import issue_user_token
from tests.fixtures.devhost import USER_TOKEN_KEY
from tests.integration.connect.helpers import BACKEND

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
INSTALL_HINT = (
    "Chromium is not installed, so the browser tests are skipped. Install Debian's Chromium as root: "
    "`apt-get update && apt-get install -y chromium chromium-driver` (.ci/run does this)."
)
# As root, in a closed network: no sandbox, no GPU, no background connections (see the machine notes).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 740}
VIEWER_ZONE = "Europe/Berlin"


@pytest.fixture(scope="module")
def app_env(app_env: dict[str, str], devhost_port: int) -> dict[str, str]:
    # The settings page is served by the app itself: its origin must be allowed as the popup's
    # postMessage target and as the redirect fallback's return URL.
    return {
        **app_env,
        "SLOTBRIDGE_ALLOWED_ORIGINS": f"{app_env['SLOTBRIDGE_ALLOWED_ORIGINS']},http://127.0.0.1:{devhost_port}",
    }


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(INSTALL_HINT)
    sync_api = pytest.importorskip(
        "playwright.sync_api",
        reason="Playwright for Python is missing: `make install` (requirements-dev.txt)",
    )
    with sync_api.sync_playwright() as playwright:
        # Playwright starts Chromium with a fresh temporary --user-data-dir of its own.
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _new_context(chromium: Any, viewport: dict[str, int]) -> Any:
    context = chromium.new_context(
        viewport=viewport,
        locale="en-GB",
        timezone_id=VIEWER_ZONE,
        ignore_https_errors=True,  # the sandbox's own CA
    )
    # Generous: the machine may be busy with the rest of the suite (2 cores).
    context.set_default_timeout(30_000)
    return context


@pytest.fixture()
def open_context(chromium: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """Makes fresh browser contexts (`open_context(PHONE)`); at the end the last open page of the
    last context is screenshotted to artifacts/screenshots/<test>.png."""
    contexts: list[Any] = []

    def make(viewport: dict[str, int] = DESKTOP) -> Any:
        contexts.append(_new_context(chromium, viewport))
        return contexts[-1]

    try:
        yield make
    finally:
        open_pages = [p for c in contexts for p in c.pages if not p.is_closed()]
        if open_pages:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
            try:
                open_pages[-1].screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
            except Exception as exc:  # a screenshot must not hide the test's own outcome
                print(f"screenshot of {name} failed: {exc}")
        for context in contexts:
            context.close()


@pytest.fixture()
def context(open_context: Any) -> Any:
    return open_context(DESKTOP)


@pytest.fixture()
def page(context: Any) -> Any:
    return context.new_page()


def shot(page: Any, name: str) -> Path:
    """A named screenshot in artifacts/screenshots (the README's are copied from these)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def publish_screenshots(names: list[str]) -> None:  # pragma: no cover - a maintainer's helper
    """Copy named screenshots to docs/screenshots (committed; the README shows them)."""
    target = ROOT / "docs" / "screenshots"
    target.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(SCREENSHOTS / f"{name}.png", target / f"{name}.png")


# --- app data ----------------------------------------------------------------------------------


def new_user() -> str:
    return f"host-{uuid.uuid4().hex[:8]}"


def new_slug() -> str:
    return f"intro-{uuid.uuid4().hex[:8]}"


def settings_url(devhost: DevHost, user_id: str) -> str:
    return f"{devhost.api_url}/settings#token={issue_user_token(USER_TOKEN_KEY, user_id, 900)}"


def put_link(devhost: DevHost, slug: str, user_id: str, **extra: Any) -> None:
    weekdays = ("monday", "tuesday", "wednesday", "thursday", "friday")
    body = {
        "title": "Intro call",
        "hosts": [{"userId": user_id, "calendarProvider": "microsoft"}],
        "durationMinutes": 30,
        "timeZone": VIEWER_ZONE,
        "weeklyHours": {day: [{"start": "09:00", "end": "17:00"}] for day in weekdays},
        "teamsMeeting": True,
        "minimumNoticeMinutes": 60,
        **extra,
    }
    r = requests.put(f"{devhost.api_url}/links/{slug}", json=body, headers=BACKEND, timeout=30)
    assert r.status_code in (200, 201), r.text


# --- accessibility checks -----------------------------------------------------------------------

_CONTRAST_JS = """
() => {
  const rgb = (s) => (s.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (let n = el; n; n = n.parentElement) {
      const c = rgb(getComputedStyle(n).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const low = [];
  for (const el of document.querySelectorAll("body *")) {
    const text = [...el.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent.trim()).join("");
    if (!text || !el.getClientRects().length || getComputedStyle(el).visibility === "hidden") continue;
    const fg = lum(rgb(getComputedStyle(el).color).slice(0, 3));
    const bg = lum(background(el));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    if (ratio < 4.5) low.push(`${el.tagName.toLowerCase()} "${text.slice(0, 40)}": ${ratio.toFixed(2)}`);
  }
  return low;
}
"""


def low_contrast_text(page: Any) -> list[str]:
    """Visible text whose contrast with its background is under 4.5:1 (WCAG AA)."""
    return list(page.evaluate(_CONTRAST_JS))


def unlabelled_controls(page: Any) -> list[str]:
    """Form controls and buttons without an accessible name."""
    return list(
        page.evaluate(
            """() => [...document.querySelectorAll("input, select, textarea, button")]
                .filter((el) => el.getClientRects().length)
                .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute("aria-label")
                                && !(el.tagName === "BUTTON" && el.textContent.trim()))
                .map((el) => el.outerHTML.slice(0, 80))"""
        )
    )


# --- a product's own site on another origin (browser access, embedding) ------------------------
# A module that uses these defines `product_page` (the WSGI app its site serves) and overrides
# `app_env` with `with_allowed_origin(app_env, allowed_port)`; `other_site` is on an origin that is
# never allowed.


def with_allowed_origin(app_env: dict[str, str], port: int) -> dict[str, str]:
    origins = f"{app_env['SLOTBRIDGE_ALLOWED_ORIGINS']},http://127.0.0.1:{port}"
    return {**app_env, "SLOTBRIDGE_ALLOWED_ORIGINS": origins}


@pytest.fixture(scope="module")
def allowed_port() -> int:
    return free_loopback_port()


@pytest.fixture(scope="module")
def allowed_site(product_page: WSGIApplication, allowed_port: int) -> Iterator[ServerThread]:
    with ServerThread(product_page, port=allowed_port, name="allowed-site") as server:
        yield server


@pytest.fixture(scope="module")
def other_site(product_page: WSGIApplication) -> Iterator[ServerThread]:
    with ServerThread(product_page, name="other-site") as server:
        yield server
