"""Booking through the dev host as a booking page does, and reading the sandbox mailbox back."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import requests

from devstack.funchost import DevHost
from devstack.sandbox.admin_client import SandboxAdmin

EVENTS_POST = "/v1.0/me/calendars/*/events"


def at(day: date, hour: int, minute: int = 0) -> str:
    return f"{day.isoformat()}T{hour:02d}:{minute:02d}:00Z"


def booking_body(
    start: str, name: str = "Ada Lovelace", email: str | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "start": start,
        "attendee": {"name": name, "email": email or f"ada-{uuid.uuid4().hex[:6]}@example.com"},
        **extra,
    }


def book(
    devhost: DevHost,
    slug: str,
    start: str | None = None,
    *,
    body: dict[str, Any] | None = None,
    key: str | None = None,
    timeout: float = 60,
) -> requests.Response:
    headers = {"Idempotency-Key": key} if key else {}
    return requests.post(
        f"{devhost.api_url}/links/{slug}/bookings",
        json=body if body is not None else booking_body(start or ""),
        headers=headers,
        timeout=timeout,
    )


def manage(
    devhost: DevHost, booking_id: str, action: str, token: str | None, **body: Any
) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.post(
        f"{devhost.api_url}/bookings/{booking_id}/{action}", json=body, headers=headers, timeout=60
    )


def events(admin: SandboxAdmin, email: str) -> list[dict[str, Any]]:
    return [e for cal in admin.mailbox(email)["calendars"] for e in cal["events"]]


def graph_calls(admin: SandboxAdmin, email: str, since: float) -> list[dict[str, Any]]:
    """Top-level Graph requests of this mailbox since `since` (batch members and token calls excluded)."""
    return [
        e
        for e in admin.request_log()["entries"]
        if e["account"] == email and not e["batch"] and e["path"].startswith("/v1.0/") and e["time"] >= since
    ]


def new_link(devhost: DevHost, *hosts: tuple[str, str], **extra: Any) -> str:
    """A fresh booking link for `hosts` ((user id, provider) pairs), through the API."""
    from tests.integration.availability.helpers import link_body, new_slug, put_link

    slug = new_slug()
    put_link(devhost, slug, link_body(list(hosts), **extra))
    return slug
