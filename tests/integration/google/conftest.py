"""The app with Google Calendar turned on: a Google stand-in trusted through the sandbox's CA (one
`SLOTBRIDGE_CA_BUNDLE` for both services), its OAuth client in the app's settings."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from devstack.google import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, GoogleConfig, GoogleStandIn
from devstack.google.admin_client import GoogleAdmin
from devstack.sandbox import Sandbox
from lib.adapters.outbound_http import make_session


@pytest.fixture(scope="module")
def gstandin(sandbox: Sandbox) -> Iterator[GoogleStandIn]:
    config = GoogleConfig(notification_retry_delays=(0.1, 0.2, 0.4), notification_max_age=30.0)
    with GoogleStandIn(config, ca=sandbox.ca) as google:
        yield google


@pytest.fixture()
def gadmin(gstandin: GoogleStandIn) -> Iterator[GoogleAdmin]:
    client = GoogleAdmin(gstandin.url, gstandin.ca_pem_path)
    yield client
    client.clear_faults()


@pytest.fixture(scope="module")
def ghttp(gstandin: GoogleStandIn) -> requests.Session:
    return make_session(gstandin.ca_pem_path)


@pytest.fixture(scope="module")
def app_env(app_env: dict[str, str], gstandin: GoogleStandIn) -> dict[str, str]:
    return {
        **app_env,
        "SLOTBRIDGE_GOOGLE_CLIENT_ID": DEFAULT_CLIENT_ID,
        "SLOTBRIDGE_GOOGLE_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
        "SLOTBRIDGE_GOOGLE_AUTH_URL": f"{gstandin.url}/o/oauth2/v2/auth",
        "SLOTBRIDGE_GOOGLE_TOKEN_URL": f"{gstandin.url}/token",
        "SLOTBRIDGE_GOOGLE_REVOKE_URL": f"{gstandin.url}/revoke",
        "SLOTBRIDGE_GOOGLE_CALENDAR_BASE_URL": f"{gstandin.url}/calendar/v3",
    }
