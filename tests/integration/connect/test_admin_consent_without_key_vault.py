"""The admin-consent link and its answer never touch the data key: with Key Vault unreachable, and
whatever an anonymous caller puts in the state, the approval link still redirects and the callback
still answers a page (never a 500), and Key Vault is not contacted once."""

from __future__ import annotations

import base64
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from devstack.funchost import DevHost
from devstack.sandbox.admin_client import SandboxAdmin
from tests.fixtures.sandbox import unique_email

from .helpers import approve_as_admin


class DeadVault:
    """A Key Vault that is down: a loopback port that accepts connections and drops them at once.
    Counts the connections, so a test can tell that nothing tried to read a key."""

    def __init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"https://127.0.0.1:{self._sock.getsockname()[1]}"
        self.connections = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._sock.close()


@pytest.fixture(scope="module")
def dead_vault() -> Iterator[DeadVault]:
    vault = DeadVault()
    try:
        yield vault
    finally:
        vault.close()


@pytest.fixture(scope="module")
def app_env(app_env: dict[str, str], dead_vault: DeadVault) -> dict[str, str]:
    return {**app_env, "SLOTBRIDGE_KEY_VAULT_URL": dead_vault.url}


def test_the_approval_link_works_while_key_vault_is_down(
    devhost: DevHost, admin: SandboxAdmin, sandbox_http: requests.Session, dead_vault: DeadVault
) -> None:
    link = f"{devhost.api_url}/auth/admin-consent"
    hops = [requests.get(link, allow_redirects=False, timeout=60) for _ in "ab"]
    assert [hop.status_code for hop in hops] == [302, 302], hops[0].text
    states = [parse_qs(urlsplit(hop.headers["Location"]).query)["state"][0] for hop in hops]
    assert all(state.startswith("adminconsent.") for state in states) and states[0] != states[1]
    it = admin.add_account(unique_email("it-admin"), tenant_id=str(uuid.uuid4()))["id"]
    landing = approve_as_admin(devhost, sandbox_http, hops[0].headers["Location"], it)
    assert landing.status_code == 200 and "Slotbridge is approved" in landing.text
    assert dead_vault.connections == 0


def test_a_state_naming_a_key_version_costs_no_key_vault_call_and_no_500(
    devhost: DevHost, dead_vault: DeadVault
) -> None:
    """A state shaped like a sealed value names a key version; nothing looks it up."""
    body = base64.urlsafe_b64encode(os.urandom(40)).decode().rstrip("=")
    callback = f"{devhost.api_url}/auth/callback"
    for version in ("a" * 32, "b" * 32):
        state = f"adminconsent.sb1.{version}.{body}"
        answer = {"admin_consent": "True", "tenant": str(uuid.uuid4()), "state": state}
        approved = requests.get(callback, params=answer, timeout=60)
        assert approved.status_code == 200 and "Slotbridge is approved" in approved.text
        declined = requests.get(
            callback,
            params={"error": "access_denied", "error_description": "AADSTS65004: Declined.", "state": state},
            timeout=60,
        )
        assert declined.status_code == 403 and "were not approved" in declined.text
        assert "Traceback" not in approved.text + declined.text
    assert dead_vault.connections == 0
