"""Return URLs and opener origins: only exact allowed origins, after strict parsing."""

from __future__ import annotations

import pytest

from lib.features.connections.return_urls import allowed_origin, allowed_return_url

ALLOWED = ("https://product.example", "http://127.0.0.1:3000")


@pytest.mark.parametrize(
    "url",
    ["https://product.example/settings", "https://PRODUCT.example:443/x?y=1#z", "http://127.0.0.1:3000/"],
)
def test_allowed(url: str) -> None:
    assert allowed_return_url(url, ALLOWED) == url


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example",
        "//evil.example",
        "/\\evil.example",
        "/settings",
        "javascript:alert(1)",
        "https://product.example@evil.example/",
        "https://product.example.evil.example/",
        "http://product.example/",  # scheme differs
        "https://product.example:8443/",
        "https://product.example\\@evil.example",
        "https://product.example/\x00",
        "data:text/html,hi",
        "",
    ],
)
def test_refused(url: str) -> None:
    assert allowed_return_url(url, ALLOWED) is None


def test_opener_origin_must_be_a_bare_allowed_origin() -> None:
    assert allowed_origin("https://product.example", ALLOWED) == "https://product.example"
    assert allowed_origin("https://product.example/path", ALLOWED) is None
    assert allowed_origin("https://evil.example", ALLOWED) is None
