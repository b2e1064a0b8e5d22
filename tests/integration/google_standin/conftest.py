from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from werkzeug.wrappers import Request, Response

from devstack.google import GoogleStandIn
from devstack.google.admin_client import GoogleAdmin
from devstack.http_server import ServerThread
from tests.fixtures.google import GOOGLE_SCOPES, google_connect, unique_gmail


class PushReceiver:
    """The app's side of push: records each POST's headers and body, answers `status`."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.posts: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server = ServerThread(self, name="push-receiver")
        self.url = self._server.url + "/api/notifications/google"

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        with self._lock:
            self.posts.append(
                {"method": request.method, "headers": dict(request.headers), "body": request.get_data()}
            )
        return Response(status=self.status)(environ, start_response)

    def wait(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.posts) >= count:
                    return list(self.posts)
            time.sleep(0.02)
        raise AssertionError(f"expected {count} push messages, got {self.posts}")


@pytest.fixture()
def push_receiver() -> Iterator[PushReceiver]:
    r = PushReceiver()
    r._server.start()
    yield r
    r._server.stop()


class GUser:
    """A seeded Google user connected through the consent page, calling the Calendar API as it."""

    def __init__(
        self, google: GoogleStandIn, http: requests.Session, user: dict[str, Any], token: dict[str, Any]
    ):
        self.google, self.http, self.user, self.token = google, http, user, token
        self.email: str = user["email"]

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token['access_token']}", **kwargs.pop("headers", {})}
        return self.http.request(
            method, f"{self.google.url}/calendar/v3{path}", headers=headers, timeout=15, **kwargs
        )


@pytest.fixture()
def make_guser(
    google: GoogleStandIn, google_admin: GoogleAdmin, google_http: requests.Session
) -> Callable[..., GUser]:
    def make(scopes: list[str] | None = None, **user_kwargs: Any) -> GUser:
        user = google_admin.add_user(unique_gmail(), **user_kwargs)
        token = google_connect(google, google_http, user["sub"], scopes or GOOGLE_SCOPES)
        return GUser(google, google_http, user, token)

    return make


@pytest.fixture()
def guser(make_guser: Callable[..., GUser]) -> GUser:
    return make_guser()
