"""A host connecting Google Calendar through the app, the way a browser does: the app's start
route, the stand-in's consent page, the redirect back to the app's callback."""

from __future__ import annotations

import uuid
from typing import Any

import requests

from devstack.funchost import DevHost
from devstack.google.admin_client import GoogleAdmin
from tests.fixtures.google import google_sign_in, unique_gmail
from tests.integration.connect.helpers import BACKEND, answer_callback, connections, start

EVENTS_SCOPE = "https://www.googleapis.com/auth/calendar.events"


def connect_google(
    devhost: DevHost, http: requests.Session, user_id: str, sub: str, untick: tuple[str, ...] = ()
) -> requests.Response:
    started = start(devhost, user_id, provider="google")
    assert started.status_code == 201, started.text
    back = google_sign_in(http, started.json()["authorizationUrl"], sub, untick=untick)
    return answer_callback(devhost, **back)


class GoogleHost:
    """A user with a connected Google account in the stand-in."""

    def __init__(self, devhost: DevHost, gadmin: GoogleAdmin, http: requests.Session, **user: Any) -> None:
        self.user_id = f"guser-{uuid.uuid4().hex[:8]}"
        self.email = unique_gmail("host")
        self.account = gadmin.add_user(self.email, **user)
        self.sub = str(self.account["sub"])
        self.calendar_id = self.email.lower()  # the primary calendar's id is the address
        page = connect_google(devhost, http, self.user_id, self.sub)
        assert page.status_code == 200, page.text
        self.connection = next(c for c in connections(devhost, self.user_id) if c["provider"] == "google")
        self.connection_id = str(self.connection["connectionId"])
        self._devhost = devhost

    def ref(self, calendar_id: str | None = None) -> dict[str, str]:
        return {"connectionId": self.connection_id, "calendarId": calendar_id or self.calendar_id}

    def calendars(self) -> list[dict[str, Any]]:
        r = requests.get(
            f"{self._devhost.api_url}/users/{self.user_id}/calendars", headers=BACKEND, timeout=30
        )
        assert r.status_code == 200, r.text
        return list(r.json()["calendars"])
