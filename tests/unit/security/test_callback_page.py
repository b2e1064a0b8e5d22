"""The callback page escapes every text and posts only to the allowed origin."""

from __future__ import annotations

from lib.adapters.identity.sign_in_errors import ConsentDeclined
from lib.features.connections.connect_flow import CallbackOutcome
from lib.features.connections.errors import InvalidSignInState
from lib.features.connections.records import ConnectMode


def test_error_text_is_escaped_in_html_and_script() -> None:
    from functions.callback_page import render

    hostile = "</script><script>alert(1)</script><img src=x onerror=alert(2)>"
    page = render(
        CallbackOutcome(ConnectMode.POPUP, None, "https://product.example", error=ConsentDeclined(hostile))
    )
    body = page.get_body().decode()
    assert "<script>alert(1)" not in body and "<img src=x" not in body
    assert "&lt;/script&gt;" in body
    assert body.count("</script>") == 1  # only our own script element closes
    assert page.headers["Referrer-Policy"] == "no-referrer"


def test_without_flow_context_there_is_no_script_at_all() -> None:
    from functions.callback_page import render

    page = render(CallbackOutcome(None, None, None, error=InvalidSignInState("expired")))
    assert page.status_code == 400
    assert "<script" not in page.get_body().decode()
    assert "script-src 'none'" in page.headers["Content-Security-Policy"]


def test_redirect_mode_keeps_the_return_urls_query() -> None:
    from functions.callback_page import render

    page = render(
        CallbackOutcome(
            ConnectMode.REDIRECT, "https://product.example/s?tab=1", None, error=ConsentDeclined("no")
        )
    )
    assert page.status_code == 303
    assert (
        page.headers["Location"]
        == "https://product.example/s?tab=1&slotbridge_connect=error&code=consent_declined"
    )
