"""The pages and their files over plain HTTP (no browser): content types, a strict CSP with no
inline script, nosniff, cache headers with ETags, path traversal refused; and the static rules of
web/: no external resources, no inline script, a message for every problem code."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from devstack.funchost import DevHost
from devstack.sandbox.admin_client import SandboxAdmin

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"


@pytest.mark.parametrize(
    "path",
    ["book/demo", "book/demo?embed=1", "book/manage/0b1c2d3e-0000-4000-8000-000000000000", "settings"],
)
def test_pages_are_html_with_a_strict_policy(devhost: DevHost, path: str) -> None:
    r = requests.get(f"{devhost.api_url}/{path}", timeout=10)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "no-referrer"
    assert r.headers["Cache-Control"] == "no-store"
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self';" in csp and "unsafe-inline" not in csp
    # Assets are referenced under the routePrefix, the placeholder is gone.
    assert '<script type="module" src="/api/web/' in r.text and "{{ASSETS}}" not in r.text


def test_only_the_booking_and_settings_pages_may_be_framed_by_the_product(devhost: DevHost) -> None:
    def ancestors(path: str) -> str:
        csp = requests.get(f"{devhost.api_url}/{path}", timeout=10).headers["Content-Security-Policy"]
        return csp.split("frame-ancestors ", 1)[1]

    assert ancestors("book/demo").startswith("'self' https://product.example")
    assert ancestors("settings").startswith("'self' https://product.example")
    assert ancestors("book/manage/0b1c2d3e-0000-4000-8000-000000000000") == "'self'"


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("book.js", "text/javascript; charset=utf-8"),
        ("app.css", "text/css; charset=utf-8"),
        ("favicon.svg", "image/svg+xml"),
    ],
)
def test_assets_have_their_content_type_and_are_cacheable(
    devhost: DevHost, name: str, content_type: str
) -> None:
    r = requests.get(f"{devhost.api_url}/web/{name}", timeout=10)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == content_type
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Cache-Control"] == "public, max-age=300"
    assert r.content == (WEB / name).read_bytes()
    again = requests.get(
        f"{devhost.api_url}/web/{name}", headers={"If-None-Match": r.headers["ETag"]}, timeout=10
    )
    assert again.status_code == 304 and again.content == b""


@pytest.mark.parametrize(
    "path",
    [
        "web/..%2Fhost.json",
        "web/%2E%2E%2Ffunction_app.py",
        "web/../host.json",
        "web/..%5Chost.json",
        "web/book.html",  # pages only at their routes
        "web/.hidden.js",
        "web/missing.js",
        "web/book.js%00.css",
        "book/Not_A_Slug",
        "book/manage/..%2F..%2Fhost.json",
    ],
)
def test_anything_outside_the_served_files_is_refused(devhost: DevHost, path: str) -> None:
    r = requests.get(f"{devhost.api_url}/{path}", timeout=10)
    assert r.status_code == 404, (path, r.status_code)
    assert b"routePrefix" not in r.content and b"FunctionApp" not in r.content


def test_a_booking_answers_with_the_manage_page_url(devhost: DevHost) -> None:
    # The manage URL a booking hands out is the page served here (under the routePrefix).
    from lib.features.bookings.manage_tokens import manage_url

    url = manage_url(devhost.url, "0b1c2d3e-0000-4000-8000-000000000000", "t")
    assert url.startswith(f"{devhost.api_url}/book/manage/")
    assert requests.get(url, timeout=10).status_code == 200


# --- web/ as files ------------------------------------------------------------------------------


def test_web_has_no_external_resources_and_no_inline_script() -> None:
    for path in WEB.iterdir():
        text = path.read_text()
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text), (
            f"{path.name} loads from elsewhere"
        )
        assert "@import" not in text and "url(http" not in text, path.name
        if path.suffix == ".html":
            assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), f"inline script in {path.name}"
            assert not re.search(r"\son[a-z]+\s*=", text), f"inline handler in {path.name}"
            assert "style=" not in text, f"inline style in {path.name}"


def test_every_problem_code_has_a_message() -> None:
    spec = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    codes = set(spec["components"]["schemas"]["Problem"]["properties"]["code"]["enum"])
    messages = (WEB / "messages.js").read_text()
    block = messages.split("export const MESSAGES = {", 1)[1].split("};", 1)[0]
    defined = set(re.findall(r"^\s{2}([a-z_]+):", block, re.MULTILINE))
    assert codes - defined == set(), "problem codes without a message in web/messages.js"


def test_the_sandbox_mailbox_view_lists_events_escaped(sandbox: Any, admin: SandboxAdmin) -> None:
    from devstack.sandbox.admin_client import dt
    from tests.fixtures.sandbox import unique_email

    email = unique_email("viewer", "contoso.example")
    admin.add_account(email, display_name="View <Me>", time_zone="UTC")
    admin.add_event(
        email,
        subject="<script>alert(1)</script> & co",
        show_as="busy",
        start=dt("2026-11-23T09:00:00", "UTC"),
        end=dt("2026-11-23T10:00:00", "UTC"),
    )
    r = requests.get(f"{sandbox.url}/_admin/view/{email}", verify=sandbox.ca_pem_path, timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "script-src" not in r.headers["Content-Security-Policy"]  # default-src 'none': no script
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in r.text and "<script>" not in r.text
    assert "View &lt;Me&gt;" in r.text and "2026-11-23 09:00 to 10:00" in r.text
    missing = requests.get(f"{sandbox.url}/_admin/view/nobody@nowhere.example", verify=sandbox.ca_pem_path)
    assert missing.status_code == 404
