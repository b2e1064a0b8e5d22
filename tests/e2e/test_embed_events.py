"""The booking and manage pages embedded in a product page, in Chromium: a page on an allowed origin
that names itself (`?embedOrigin=`) receives `slotbridge:booking_created`, `…_rescheduled` and
`…_cancelled` with the booking id and times, addressed to its origin only; the same page without
`embedOrigin` receives none of them; a page on another origin cannot frame the pages at all."""

from __future__ import annotations

import html
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import pytest
import requests
from werkzeug.wrappers import Request, Response

from devstack.funchost import DevHost
from devstack.http_server import ServerThread

from .conftest import new_slug, new_user, put_link, with_allowed_origin

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

pytestmark = pytest.mark.e2e

expect: Any = pytest.importorskip("playwright.sync_api").expect

# The product's page: an iframe of `?src=`, and every booking message it gets, with its origin.
_EMBEDDING_PAGE = """<!doctype html><title>Product page</title>
<script>
  window.received = [];
  window.addEventListener("message", (e) => {
    if (e.data && String(e.data.type).startsWith("slotbridge:booking_")) {
      window.received.push({origin: e.origin, data: e.data});
    }
  });
</script>
<iframe id="booking" src="{src}" width="900" height="1100"></iframe>"""


@Request.application  # type: ignore[misc]
def _product_page(request: Request) -> Response:
    page = _EMBEDDING_PAGE.replace("{src}", html.escape(request.args.get("src", ""), quote=True))
    return Response(page, content_type="text/html; charset=utf-8")


@pytest.fixture(scope="module")
def product_page() -> WSGIApplication:
    return _product_page  # served by conftest's allowed_site and other_site


@pytest.fixture(scope="module")
def app_env(app_env: dict[str, str], allowed_port: int) -> dict[str, str]:
    return with_allowed_origin(app_env, allowed_port)


@pytest.fixture(scope="module")
def link(devhost: DevHost) -> str:
    """A link whose host has weekly hours only (no calendar to read: the pages are what is tested)."""
    slug = new_slug()
    put_link(devhost, slug, new_user(), hosts=[{"userId": new_user(), "calendarProvider": "none"}])
    return slug


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _embed(page: Any, site: ServerThread, src: str) -> Any:
    page.goto(f"{site.url.rstrip('/')}/?src={quote(src, safe='')}")
    return page.frame_locator("#booking")


def _received(page: Any, count: int, timeout_s: float = 15.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    while True:
        got: list[dict[str, Any]] = page.evaluate("window.received")
        if len(got) >= count or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


def _book(frame: Any) -> None:
    frame.locator("button.slot").first.click()
    frame.get_by_label("Name").fill("Emma Bedded")
    frame.get_by_label("E-mail").fill("emma@example.com")
    frame.get_by_role("button", name="Book").click()
    expect(frame.get_by_role("heading", name="You're booked")).to_be_visible()


def test_an_allowed_page_that_names_itself_receives_created_rescheduled_and_cancelled(
    devhost: DevHost, allowed_site: ServerThread, link: str, page: Any
) -> None:
    product = _origin(allowed_site.url)
    app = _origin(devhost.api_url)
    frame = _embed(page, allowed_site, f"{devhost.api_url}/book/{link}?embed=1&embedOrigin={quote(product)}")
    _book(frame)

    [created] = _received(page, 1)
    assert created["origin"] == app
    booking = created["data"]
    assert booking["type"] == "slotbridge:booking_created"
    assert booking["slug"] == link and len(booking["bookingId"]) == 36
    assert booking["startUtc"].endswith("Z") and booking["endUtc"] > booking["startUtc"]
    assert booking["timeZone"] == "Europe/Berlin" and booking["start"] and booking["end"]
    assert not {"manageToken", "manageUrl", "attendee"} & set(booking)  # nothing secret or personal

    # The manage page, embedded the same way, reports a move and a cancel.
    manage = urlsplit(frame.locator("#done-manage").get_attribute("href"))
    src = (
        f"{devhost.api_url}/book/manage/{booking['bookingId']}?embedOrigin={quote(product)}#{manage.fragment}"
    )
    frame = _embed(page, allowed_site, src)
    frame.get_by_role("button", name="Reschedule").click()
    frame.locator("button.slot").first.click()
    frame.get_by_role("button", name="Move booking").click()
    expect(frame.get_by_role("status")).to_contain_text("Your booking has been moved")
    [moved] = _received(page, 1)
    assert moved["origin"] == app and moved["data"]["type"] == "slotbridge:booking_rescheduled"
    assert moved["data"]["bookingId"] == booking["bookingId"]
    assert (moved["data"]["previousStartUtc"], moved["data"]["previousEndUtc"]) == (
        booking["startUtc"],
        booking["endUtc"],
    )
    assert moved["data"]["startUtc"] != booking["startUtc"]

    frame.get_by_role("button", name="Cancel booking").click()
    frame.get_by_role("button", name="Yes, cancel booking").click()
    expect(frame.get_by_role("status")).to_have_text("Your booking has been cancelled.")
    moved_then_cancelled = _received(page, 2)
    assert [m["data"]["type"] for m in moved_then_cancelled] == [
        "slotbridge:booking_rescheduled",
        "slotbridge:booking_cancelled",
    ]
    cancelled = moved_then_cancelled[1]["data"]
    assert cancelled["bookingId"] == booking["bookingId"]
    assert (cancelled["startUtc"], cancelled["endUtc"]) == (
        moved["data"]["startUtc"],
        moved["data"]["endUtc"],
    )


def test_an_embedding_page_that_does_not_name_itself_receives_no_booking_events(
    devhost: DevHost, allowed_site: ServerThread, link: str, page: Any
) -> None:
    frame = _embed(page, allowed_site, f"{devhost.api_url}/book/{link}?embed=1")
    _book(frame)
    assert _received(page, 1, timeout_s=2) == []


@pytest.mark.parametrize("names", ["the allowed origin", "itself"])
def test_a_page_on_another_origin_cannot_frame_the_pages(
    devhost: DevHost,
    allowed_site: ServerThread,
    other_site: ServerThread,
    link: str,
    page: Any,
    names: str,
) -> None:
    claimed = _origin(allowed_site.url if names == "the allowed origin" else other_site.url)
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text))
    frame = _embed(page, other_site, f"{devhost.api_url}/book/{link}?embed=1&embedOrigin={quote(claimed)}")
    deadline = time.monotonic() + 10
    while not any("frame-ancestors" in text for text in refused) and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert any("frame-ancestors" in text and "blocked" in text for text in refused), refused
    expect(frame.locator("button.slot")).to_have_count(0)
    assert page.evaluate("window.received") == []


@pytest.mark.parametrize("path", ["book/demo", "book/manage/0b1c2d3e-0000-4000-8000-000000000000"])
def test_a_named_allowed_embedder_is_the_only_origin_that_may_frame_the_page(
    devhost: DevHost, path: str
) -> None:
    def answer(embed_origin: str) -> tuple[str, str]:
        r = requests.get(f"{devhost.api_url}/{path}", params={"embedOrigin": embed_origin}, timeout=10)
        assert r.status_code == 200 and "{{EMBED_ORIGIN}}" not in r.text
        named = r.text.split('name="slotbridge-embed-origin" content="', 1)[1].split('"', 1)[0]
        return r.headers["Content-Security-Policy"].split("frame-ancestors ", 1)[1], named

    # Named and allowed (any spelling of it): exactly that origin, and the page posts to it.
    assert answer("https://product.example") == ("'self' https://product.example", "https://product.example")
    assert answer("HTTPS://Product.Example:443/") == (
        "'self' https://product.example",
        "https://product.example",
    )
    # Not allowed, not an origin, or hostile: ignored - the page posts nowhere, framing as without.
    default = requests.get(f"{devhost.api_url}/{path}", timeout=10).headers["Content-Security-Policy"]
    for value in ("https://evil.example", "https://product.example/path", '"><script>alert(1)</script>', "*"):
        ancestors, named = answer(value)
        assert named == "" and ancestors == default.split("frame-ancestors ", 1)[1]


def test_an_embed_origin_no_origin_could_hold_is_a_validation_error(devhost: DevHost) -> None:
    r = requests.get(
        f"{devhost.api_url}/book/demo", params={"embedOrigin": "https://product.example\n"}, timeout=10
    )
    assert r.status_code == 400 and r.headers["Content-Type"] == "application/problem+json"
    assert r.json()["code"] == "validation_error" and r.json()["errors"][0]["field"] == "embedOrigin"
