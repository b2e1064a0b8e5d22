"""A product's developer generates a Python client from openapi.yaml (openapi-python-client, offline,
in a temp dir) and manages bookings with it against the dev host: a booking page books (anonymous
client), the product pages through its bookings, reschedules one and cancels another with its API
key, and reads a problem document as the generated `Problem`. Outlook follows, and the booking events
the outbox posts are the bodies `webhooks:` documents."""

from __future__ import annotations

import importlib
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any
from uuid import UUID

import pytest
import requests

from devstack.funchost import DevHost
from devstack.sandbox.admin_client import SandboxAdmin
from lib.adapters.storage import storage_account
from lib.features.outbox.records import OutboxRecord
from tests.fixtures.devhost import API_KEY
from tests.fixtures.openapi_spec import SPEC_PATH, webhook_body_errors
from tests.integration.availability.helpers import Host, link_body, new_slug, next_monday, put_link
from tests.integration.bookings.helpers import at, events

pytestmark = pytest.mark.integration

PACKAGE = "slotbridge_client"
# The generator's post hooks run ruff on the output; the client is imported, not linted, here.
CONFIG = "post_hooks: []\n"
GENERATOR = Path(sys.executable).with_name("openapi-python-client")


@pytest.fixture(scope="module")
def client_package(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The client generated from openapi.yaml and imported; no network is involved."""
    root = tmp_path_factory.mktemp("generated")
    (root / "config.yaml").write_text(CONFIG)
    began = time.monotonic()
    done = subprocess.run(
        [
            str(GENERATOR),
            "generate",
            "--path",
            str(SPEC_PATH),
            "--meta",
            "none",
            "--config",
            str(root / "config.yaml"),
            "--output-path",
            str(root / PACKAGE),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # Warnings mean a part of the spec the generator could not turn into code.
    assert "Warning" not in done.stdout, done.stdout
    assert time.monotonic() - began < 60, "generating the client took over a minute"
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(root))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def _sub(package: ModuleType, name: str) -> Any:
    return importlib.import_module(f"{package.__name__}.{name}")


def test_a_generated_client_books_lists_reschedules_and_cancels(
    client_package: ModuleType, devhost: DevHost, admin: SandboxAdmin, sandbox_http: requests.Session
) -> None:
    models = _sub(client_package, "models")
    api = {
        name: _sub(client_package, f"api.{tag}.{name}")
        for tag, name in [
            ("public", "create_booking"),
            ("public", "reschedule_booking"),
            ("public", "cancel_booking"),
            ("bookings", "list_bookings"),
        ]
    }
    host = Host(devhost, admin, sandbox_http)
    slug = new_slug()
    put_link(devhost, slug, link_body([(host.user_id, "microsoft")], duration=30, slotStepMinutes=30))
    monday = next_monday()

    # A booking page (no credentials) books five slots through the client.
    page = client_package.Client(base_url=devhost.api_url, raise_on_unexpected_status=True)
    made: list[str] = []
    for hour, minute in [(9, 0), (9, 30), (10, 0), (10, 30), (11, 0)]:
        body = models.BookingInput(
            start=datetime.fromisoformat(at(monday, hour, minute)),
            attendee=models.BookingInputAttendee(
                name="Grace Hopper", email=f"grace-{hour}{minute}@example.com"
            ),
        )
        created = api["create_booking"].sync(slug=slug, client=page, body=body)
        assert isinstance(created, models.BookingCreated), created
        assert created.status.value == "confirmed" and created.manage_token
        made.append(str(created.booking_id))
    assert len(events(admin, host.email)) == 5

    # The product pages through them two at a time, following nextCursor to its end.
    product = client_package.AuthenticatedClient(
        base_url=devhost.api_url, token=API_KEY, prefix="", auth_header_name="X-Api-Key"
    )
    listed: list[str] = []
    pages, cursor = 0, _sub(client_package, "types").UNSET
    while True:
        found = api["list_bookings"].sync(client=product, host_user_id=host.user_id, limit=2, cursor=cursor)
        assert isinstance(found, models.BookingPage), found
        pages += 1
        listed += [str(b.booking_id) for b in found.bookings]
        assert all(b.host_user_id == host.user_id and b.link_title == "Intro call" for b in found.bookings)
        if found.next_cursor is None:
            break
        cursor = found.next_cursor
        assert pages < 10, "the cursor does not end"
    assert listed == made and pages >= 3

    # The product moves the first booking with a reason; the Outlook event moves with it.
    moved = api["reschedule_booking"].sync(
        booking_id=UUID(made[0]),
        client=product,
        body=models.RescheduleBookingBody(
            start=datetime.fromisoformat(at(monday, 14)), reason="The host is travelling"
        ),
    )
    assert isinstance(moved, models.ProductBooking), moved
    assert (moved.start_utc, moved.status.value) == (datetime.fromisoformat(at(monday, 14)), "confirmed")
    assert (moved.history[-1].by.value, moved.history[-1].reason) == ("product", "The host is travelling")
    starts = sorted(e["start"]["dateTime"][:16] for e in events(admin, host.email))
    assert f"{monday}T14:00" in starts and f"{monday}T09:00" not in starts

    # A time that is taken is refused as a problem the client reads as `Problem`.
    taken = api["reschedule_booking"].sync(
        booking_id=UUID(made[1]),
        client=product,
        body=models.RescheduleBookingBody(start=datetime.fromisoformat(at(monday, 10))),
    )
    assert isinstance(taken, models.Problem) and taken.code.value == "slot_unavailable", taken

    # The product cancels the second one; its Outlook event is deleted.
    cancelled = api["cancel_booking"].sync(
        booking_id=UUID(made[1]), client=product, body=models.CancelBookingBody(reason="The host is ill")
    )
    assert isinstance(cancelled, models.ProductBooking), cancelled
    assert (cancelled.status.value, cancelled.cancelled_by.value, cancelled.cancel_reason) == (
        "cancelled",
        "product",
        "The host is ill",
    )
    assert len(events(admin, host.email)) == 4
    still = api["list_bookings"].sync(
        client=product, host_user_id=host.user_id, status=models.ListBookingsStatus.CANCELLED
    )
    assert [str(b.booking_id) for b in still.bookings] == [made[1]]

    # What the outbox posts for these changes is what webhooks: documents.
    posted = [r.envelope() for r in storage_account().table(OutboxRecord).query(partition=host.user_id)]
    kinds = {e["type"] for e in posted}
    assert {"booking.created", "booking.rescheduled", "booking.cancelled"} <= kinds
    assert {e["type"]: webhook_body_errors(e) for e in posted} == {kind: [] for kind in kinds}
