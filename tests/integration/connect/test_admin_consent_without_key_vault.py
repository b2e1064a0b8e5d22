"""The admin-consent link and its answer never touch the data key: with Key Vault unreachable, and
whatever an anonymous caller puts in the state, the approval link still redirects and the callback
still answers a page (never a 500), and Key Vault is not contacted once."""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from devstack.funchost import DevHost
from devstack.sandbox.admin_client import SandboxAdmin
from tests.fixtures.raw_server import RawServer
from tests.fixtures.sandbox import unique_email

from .helpers import answer_callback, approve_as_admin, stable_approval_link


@pytest.fixture(scope="module")
def dead_vault() -> Iterator[RawServer]:
    """A Key Vault that is down: it drops every connection, and counts them."""
    with RawServer(None) as vault:
        yield vault


@pytest.fixture(scope="module")
def app_env(app_env: dict[str, str], dead_vault: RawServer) -> dict[str, str]:
    return {**app_env, "SLOTBRIDGE_KEY_VAULT_URL": f"https://127.0.0.1:{dead_vault.port}"}


def test_the_approval_link_works_while_key_vault_is_down(
    devhost: DevHost, admin: SandboxAdmin, sandbox_http: requests.Session, dead_vault: RawServer
) -> None:
    hops = [stable_approval_link(devhost) for _ in "ab"]
    assert [hop.status_code for hop in hops] == [302, 302], hops[0].text
    states = [parse_qs(urlsplit(hop.headers["Location"]).query)["state"][0] for hop in hops]
    assert all(state.startswith("adminconsent.") for state in states) and states[0] != states[1]
    it = admin.add_account(unique_email("it-admin"), tenant_id=str(uuid.uuid4()))["id"]
    landing = approve_as_admin(devhost, sandbox_http, hops[0].headers["Location"], it)
    assert landing.status_code == 200 and "Slotbridge is approved" in landing.text
    assert dead_vault.connections == 0


def test_a_state_naming_a_key_version_costs_no_key_vault_call_and_no_500(
    devhost: DevHost, dead_vault: RawServer
) -> None:
    """A state shaped like a sealed value names a key version; nothing looks it up."""
    body = base64.urlsafe_b64encode(os.urandom(40)).decode().rstrip("=")
    for version in ("a" * 32, "b" * 32):
        state = f"adminconsent.sb1.{version}.{body}"
        approved = answer_callback(devhost, admin_consent="True", tenant=str(uuid.uuid4()), state=state)
        assert approved.status_code == 200 and "Slotbridge is approved" in approved.text
        declined = answer_callback(
            devhost, error="access_denied", error_description="AADSTS65004: Declined.", state=state
        )
        assert declined.status_code == 403 and "were not approved" in declined.text
        assert "Traceback" not in approved.text + declined.text
    assert dead_vault.connections == 0
