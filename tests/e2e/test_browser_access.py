"""Browser access: a product page served on another origin calls the API through CORS. In Chromium,
a page on an origin in SLOTBRIDGE_ALLOWED_ORIGINS gets answers (its preflight granted); a page on any
other origin is blocked by the browser. Over plain HTTP: what the preflight grants and refuses, and
that an API key is refused from a browser (a request with `Origin`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
import requests
from werkzeug.wrappers import Request, Response

from devstack.funchost import DevHost
from devstack.http_server import ServerThread
from tests.fixtures.devhost import API_KEY

from .conftest import with_allowed_origin

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

PAGE = b"<!doctype html><title>Product page</title><p>The product's own page.</p>"


@Request.application  # type: ignore[misc]
def _product_page(request: Request) -> Response:
    return Response(PAGE, content_type="text/html; charset=utf-8")


@pytest.fixture(scope="module")
def product_page() -> WSGIApplication:
    return _product_page  # served by conftest's allowed_site and other_site


@pytest.fixture(scope="module")
def app_env(app_env: dict[str, str], allowed_port: int) -> dict[str, str]:
    return with_allowed_origin(app_env, allowed_port)


# What a product page does: book on a link (JSON body, Idempotency-Key) and read a booking with its
# manage token (Authorization). Both need a preflight. The answers here are problems (no such link,
# no such booking), which the page can read only if CORS let it.
_CALLS = """
async (api) => {
  const out = {};
  for (const [name, url, init] of [
    ["book", `${api}/links/no-such-link/bookings`, {method: "POST",
      headers: {"Content-Type": "application/json", "Idempotency-Key": "k-1"}, body: "{}"}],
    ["manage", `${api}/bookings/no-such-booking`, {headers: {"Authorization": "Bearer not-a-token"}}],
  ]) {
    try {
      const r = await fetch(url, init);
      out[name] = {status: r.status, body: await r.json()};
    } catch (e) {
      out[name] = {error: String(e)};
    }
  }
  return out;
}
"""


def test_a_page_on_an_allowed_origin_calls_the_api(
    devhost: DevHost, allowed_site: ServerThread, page: Any
) -> None:
    page.goto(allowed_site.url)
    answers = page.evaluate(_CALLS, devhost.api_url)
    assert answers["book"]["status"] == 404 and answers["book"]["body"]["code"] == "not_found"
    assert answers["manage"]["status"] in (401, 403, 404) and "code" in answers["manage"]["body"]


def test_a_page_on_another_origin_is_blocked_by_the_browser(
    devhost: DevHost, other_site: ServerThread, page: Any
) -> None:
    page.goto(other_site.url)
    answers = page.evaluate(_CALLS, devhost.api_url)
    assert answers == {
        "book": {"error": "TypeError: Failed to fetch"},
        "manage": {"error": "TypeError: Failed to fetch"},
    }


def _preflight(devhost: DevHost, origin: str, method: str, headers: str = "") -> requests.Response:
    asked = {"Access-Control-Request-Headers": headers} if headers else {}
    return requests.options(
        f"{devhost.api_url}/links/demo/bookings",
        headers={"Origin": origin, "Access-Control-Request-Method": method, **asked},
        timeout=10,
    )


def test_the_preflight_grants_exactly_the_allowed_origin_its_method_and_headers(
    devhost: DevHost, allowed_port: int
) -> None:
    origin = f"http://127.0.0.1:{allowed_port}"
    r = _preflight(devhost, origin, "POST", "content-type,idempotency-key,authorization")
    assert r.status_code == 204
    assert r.headers["Access-Control-Allow-Origin"] == origin
    assert r.headers["Access-Control-Allow-Methods"] == "POST"
    assert r.headers["Access-Control-Allow-Headers"] == "authorization, content-type, idempotency-key"
    assert "Access-Control-Allow-Credentials" not in r.headers
    assert "Origin" in r.headers["Vary"]


@pytest.mark.parametrize(
    ("origin", "method", "headers"),
    [
        ("https://evil.example", "POST", "content-type"),  # not an allowed origin
        ("https://product.example", "DELETE", ""),  # a method the route does not accept
        ("https://product.example", "POST", "content-type,x-api-key"),  # the API key from a page
        ("https://product.example", "POST", "x-anything"),
    ],
)
def test_a_preflight_not_allowed_gets_no_grant(
    devhost: DevHost, origin: str, method: str, headers: str
) -> None:
    r = _preflight(devhost, origin, method, headers)
    assert r.status_code == 403
    assert not [name for name in r.headers if name.lower().startswith("access-control-")]


def test_an_answer_to_an_allowed_origin_names_it_and_varies_by_origin(devhost: DevHost) -> None:
    r = requests.get(
        f"{devhost.api_url}/links/no-such-link", headers={"Origin": "https://product.example"}, timeout=10
    )
    assert r.headers["Access-Control-Allow-Origin"] == "https://product.example"
    assert "Origin" in r.headers["Vary"]
    other = requests.get(
        f"{devhost.api_url}/links/no-such-link", headers={"Origin": "https://evil.example"}, timeout=10
    )
    assert "Access-Control-Allow-Origin" not in other.headers


def test_the_api_key_is_refused_from_a_browser_origin(devhost: DevHost) -> None:
    url = f"{devhost.api_url}/links?userId=someone"
    assert requests.get(url, headers={"X-Api-Key": API_KEY}, timeout=10).status_code == 200  # the backend
    r = requests.get(url, headers={"X-Api-Key": API_KEY, "Origin": "https://product.example"}, timeout=10)
    assert r.status_code == 401
    assert r.headers["Content-Type"] == "application/problem+json"
    assert r.json()["code"] == "unauthorized" and "browser" in r.json()["detail"]
