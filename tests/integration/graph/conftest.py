from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from devstack.sandbox import Sandbox
from devstack.sandbox.admin_client import SandboxAdmin
from lib.adapters.graph import GraphClient
from lib.adapters.outbound_http import make_session
from tests.fixtures.sandbox import connect, unique_email


@dataclass
class Mailbox:
    account: dict[str, Any]
    token: str

    @property
    def email(self) -> str:
        return str(self.account["email"])


class CountingTokens:
    """A token provider that records how often it was asked."""

    def __init__(self, *tokens: str) -> None:
        self.tokens = list(tokens)
        self.calls = 0
        self.forced = 0

    def __call__(self, force_refresh: bool = False) -> str:
        self.calls += 1
        self.forced += int(force_refresh)
        return self.tokens[min(self.calls, len(self.tokens)) - 1]


@pytest.fixture()
def make_mailbox(
    sandbox: Sandbox, admin: SandboxAdmin, sandbox_http: requests.Session
) -> Callable[..., Mailbox]:
    def make(scopes: list[str] | None = None, **account_kwargs: Any) -> Mailbox:
        account = admin.add_account(unique_email("graph"), **account_kwargs)
        _, result = connect(sandbox, sandbox_http, account["id"], scopes)
        assert "access_token" in result, result
        return Mailbox(account, result["access_token"])

    return make


@pytest.fixture()
def mailbox(make_mailbox: Callable[..., Mailbox]) -> Mailbox:
    return make_mailbox()


@pytest.fixture()
def make_client(sandbox: Sandbox) -> Callable[..., GraphClient]:
    def make(
        mailbox: Mailbox,
        token_provider: Callable[[bool], str] | None = None,
        base_url: str | None = None,
        **kwargs: Any,
    ) -> GraphClient:
        return GraphClient(
            base_url or f"{sandbox.url}/v1.0",
            make_session(sandbox.ca_pem_path),
            token_provider or (lambda force_refresh: mailbox.token),
            mailbox_key=mailbox.account["id"],
            **kwargs,
        )

    return make


@pytest.fixture()
def client(make_client: Callable[..., GraphClient], mailbox: Mailbox) -> GraphClient:
    return make_client(mailbox)


def log_entries(admin: SandboxAdmin, mailbox: Mailbox, since: float = 0.0) -> list[dict[str, Any]]:
    """The sandbox's request log for one mailbox (entries are stamped when the answer was made)."""
    return [e for e in admin.request_log()["entries"] if e["account"] == mailbox.email and e["time"] >= since]


def max_overlap(entries: list[dict[str, Any]]) -> int:
    """Most requests in flight at once, from each entry's end time and duration."""
    edges: list[tuple[float, int]] = []
    for e in entries:
        end = e["time"]
        edges += [(end - e["ms"] / 1000, 1), (end, -1)]
    level = peak = 0
    for _, step in sorted(edges, key=lambda x: (x[0], x[1])):
        level += step
        peak = max(peak, level)
    return peak


def now() -> float:
    return time.time()
