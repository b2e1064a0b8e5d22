"""Rate limits of the anonymous routes, on a dev host of their own with low limits: availability and
booking writes answer 429 `rate_limited` with `Retry-After` after the burst, per client address
(X-Forwarded-For's first hop, else the socket peer) and per link (or booking)."""

from __future__ import annotations

import itertools
import uuid

import pytest
import requests

from devstack.funchost import DevHost

AVAILABILITY_PER_ADDRESS = 3
AVAILABILITY_PER_LINK = 5
BOOKING_PER_ADDRESS = 2
BOOKING_PER_LINK = 3
QUERY = {"start": "2030-01-07", "end": "2030-01-08", "timezone": "Europe/Berlin"}


@pytest.fixture(scope="module")
def app_env(app_env: dict[str, str]) -> dict[str, str]:
    return {
        **app_env,
        "SLOTBRIDGE_AVAILABILITY_RATE_PER_ADDRESS": f"{AVAILABILITY_PER_ADDRESS}/minute",
        "SLOTBRIDGE_AVAILABILITY_RATE_PER_LINK": f"{AVAILABILITY_PER_LINK}/minute",
        "SLOTBRIDGE_BOOKING_RATE_PER_ADDRESS": f"{BOOKING_PER_ADDRESS}/minute",
        "SLOTBRIDGE_BOOKING_RATE_PER_LINK": f"{BOOKING_PER_LINK}/minute",
    }


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


_addresses = itertools.count(1)


def _address() -> str:
    # A fresh client each time, with a port as App Service writes it (the port is not part of the key).
    n = next(_addresses)
    return f"198.51.{n // 250}.{n % 250 + 1}:{40000 + n}"


def _availability(devhost: DevHost, slug: str, address: str | None) -> requests.Response:
    headers = {"X-Forwarded-For": address} if address else {}
    return requests.get(
        f"{devhost.api_url}/links/{slug}/availability", params=QUERY, headers=headers, timeout=30
    )


def _book(devhost: DevHost, slug: str, address: str) -> requests.Response:
    return requests.post(
        f"{devhost.api_url}/links/{slug}/bookings", json={}, headers={"X-Forwarded-For": address}, timeout=30
    )


def _cancel(devhost: DevHost, booking_id: str, address: str) -> requests.Response:
    return requests.post(
        f"{devhost.api_url}/bookings/{booking_id}/cancel",
        json={},
        headers={"X-Forwarded-For": address, "Authorization": "Bearer not-the-token"},
        timeout=30,
    )


def _assert_rate_limited(r: requests.Response) -> None:
    assert r.status_code == 429, r.text
    assert r.headers["Content-Type"] == "application/problem+json"
    assert r.json()["code"] == "rate_limited"
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    assert r.json()["retryAfter"] == int(r.headers["Retry-After"])


def test_availability_is_limited_per_address(devhost: DevHost) -> None:
    address = _address()
    for _ in range(AVAILABILITY_PER_ADDRESS):
        assert _availability(devhost, _name("nolink"), address).status_code == 404
    _assert_rate_limited(_availability(devhost, _name("nolink"), address))
    # Another address is not held back by it.
    assert _availability(devhost, _name("nolink"), _address()).status_code == 404


def test_availability_is_limited_per_link(devhost: DevHost) -> None:
    slug = _name("busy")
    for _ in range(AVAILABILITY_PER_LINK):
        assert _availability(devhost, slug, _address()).status_code == 404
    _assert_rate_limited(_availability(devhost, slug, _address()))
    assert _availability(devhost, _name("quiet"), _address()).status_code == 404


def test_without_a_forwarded_address_the_socket_peer_is_counted(devhost: DevHost) -> None:
    for _ in range(AVAILABILITY_PER_ADDRESS):
        assert _availability(devhost, _name("nolink"), None).status_code == 404
    _assert_rate_limited(_availability(devhost, _name("nolink"), None))


def test_booking_writes_are_limited_per_address(devhost: DevHost) -> None:
    address = _address()
    assert _book(devhost, _name("nolink"), address).status_code == 404
    assert _cancel(devhost, str(uuid.uuid4()), address).status_code in (401, 403, 404)
    _assert_rate_limited(_book(devhost, _name("nolink"), address))
    _assert_rate_limited(_cancel(devhost, str(uuid.uuid4()), address))
    assert _book(devhost, _name("nolink"), _address()).status_code == 404


def test_booking_writes_are_limited_per_link_and_per_booking(devhost: DevHost) -> None:
    slug, booking_id = _name("popular"), str(uuid.uuid4())
    for _ in range(BOOKING_PER_LINK):
        assert _book(devhost, slug, _address()).status_code == 404
        assert _cancel(devhost, booking_id, _address()).status_code in (401, 403, 404)
    _assert_rate_limited(_book(devhost, slug, _address()))
    _assert_rate_limited(_cancel(devhost, booking_id, _address()))
