from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from devstack.sandbox import Sandbox
from devstack.sandbox.admin_client import SandboxAdmin
from tests.fixtures.sandbox import connect, unique_email

from .receiver import Receiver


@pytest.fixture()
def receiver_factory() -> Iterator[Callable[..., Receiver]]:
    made: list[Receiver] = []

    def make(**kwargs: Any) -> Receiver:
        r = Receiver(**kwargs).start()
        made.append(r)
        return r

    yield make
    for r in made:
        r.stop()


class GraphUser:
    """A seeded account signed in through MSAL, with a helper to call Graph as it."""

    def __init__(
        self,
        sandbox: Sandbox,
        http: requests.Session,
        account: dict[str, Any],
        token: dict[str, Any],
        msal_app: Any,
    ) -> None:
        self.sandbox, self.http, self.account, self.token, self.msal_app = (
            sandbox,
            http,
            account,
            token,
            msal_app,
        )
        self.email: str = account["email"]

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token['access_token']}"}

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {**self.auth, **kwargs.pop("headers", {})}
        url = path if path.startswith("https://") else f"{self.sandbox.url}/v1.0{path}"
        return self.http.request(method, url, headers=headers, timeout=15, **kwargs)


@pytest.fixture()
def make_user(
    sandbox: Sandbox, admin: SandboxAdmin, sandbox_http: requests.Session
) -> Callable[..., GraphUser]:
    def make(kind: str = "work", scopes: list[str] | None = None, **account_kwargs: Any) -> GraphUser:
        domain = "contoso.com" if kind == "work" else "outlook.com"
        account = admin.add_account(unique_email(kind, domain), kind=kind, **account_kwargs)
        app, token = connect(sandbox, sandbox_http, account["id"], scopes)
        assert "access_token" in token, token
        return GraphUser(sandbox, sandbox_http, account, token, app)

    return make


@pytest.fixture()
def user(make_user: Callable[..., GraphUser]) -> GraphUser:
    return make_user()
