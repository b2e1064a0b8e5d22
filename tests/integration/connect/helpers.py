"""Driving the connect flow the way a browser does: the app's start route, the sandbox's sign-in
page, and the form post back to the app's callback."""

from __future__ import annotations

import re
from typing import Any

import requests

from devstack.funchost import DevHost
from tests.fixtures.devhost import API_KEY, PRODUCT_ORIGIN
from tests.fixtures.sandbox import sign_in

BACKEND = {"X-Api-Key": API_KEY}
_POST_MESSAGE = re.compile(r"window\.opener\.postMessage\((\{.*?\}), (\"[^\"]*\")\)")


def start(
    devhost: DevHost, user_id: str, headers: dict[str, str] | None = None, **body: Any
) -> requests.Response:
    body.setdefault("openerOrigin", PRODUCT_ORIGIN)
    return requests.post(
        f"{devhost.api_url}/users/{user_id}/connections", json=body, headers=headers or BACKEND, timeout=10
    )


def post_back(devhost: DevHost, fields: dict[str, str]) -> requests.Response:
    """What the browser does with Microsoft's form_post page: POST the fields to the redirect URI."""
    return requests.post(f"{devhost.api_url}/auth/callback", data=fields, allow_redirects=False, timeout=30)


def connect(
    devhost: DevHost, http: requests.Session, user_id: str, account: str, action: str = "accept", **body: Any
) -> requests.Response:
    started = start(devhost, user_id, **body)
    assert started.status_code == 201, started.text
    fields = sign_in(http, started.json()["authorizationUrl"], account, action)
    return post_back(devhost, fields)


def popup_message(page: requests.Response) -> tuple[dict[str, Any], str] | None:
    """The message the popup page posts to its opener, and the target origin; None if it posts none."""
    import json

    match = _POST_MESSAGE.search(page.text)
    if not match:
        return None
    return json.loads(match.group(1)), json.loads(match.group(2))


def connections(devhost: DevHost, user_id: str) -> list[dict[str, Any]]:
    r = requests.get(f"{devhost.api_url}/users/{user_id}/connections", headers=BACKEND, timeout=10)
    assert r.status_code == 200, r.text
    return list(r.json()["connections"])


def approve_as_admin(
    devhost: DevHost, http: requests.Session, admin_consent_url: str, account: str, action: str = "accept"
) -> requests.Response:
    """What an administrator does with the approval link: the sandbox's admin-consent page, then the
    redirect back to the app's callback (a GET with the answer in the query)."""
    return answer_callback(devhost, **sign_in(http, admin_consent_url, account, action))


def answer_callback(devhost: DevHost, **params: str) -> requests.Response:
    """Microsoft's answer as a redirect to the callback, with `params` in the query."""
    return requests.get(f"{devhost.api_url}/auth/callback", params=params, allow_redirects=False, timeout=60)


def stable_approval_link(devhost: DevHost) -> requests.Response:
    """GET /api/auth/admin-consent, the link register-app.sh prints (its redirect not followed)."""
    return requests.get(f"{devhost.api_url}/auth/admin-consent", allow_redirects=False, timeout=60)
