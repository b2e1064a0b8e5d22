"""`python -m devstack.google` serves, prints its URL and writes its CA; in-process it can share
the Microsoft sandbox's CA so one bundle trusts both."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from devstack.google import GoogleStandIn
from devstack.sandbox import Sandbox
from lib.adapters.outbound_http import make_session

pytestmark = pytest.mark.integration


def test_runs_as_a_process(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "devstack.google", "--port", "0", "--state-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("https://127.0.0.1:")
        info = json.loads((tmp_path / "google.json").read_text())
        assert info["url"] == url and Path(info["ca_pem_path"]).is_file()
        r = make_session(info["ca_pem_path"]).get(f"{url}/.well-known/openid-configuration", timeout=5)
        assert r.status_code == 200 and r.json()["token_endpoint"] == f"{url}/token"
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0


def test_shares_the_sandbox_ca(sandbox: Sandbox) -> None:
    with GoogleStandIn(ca=sandbox.ca) as google:
        http = make_session(sandbox.ca_pem_path)  # the sandbox's bundle alone
        assert http.get(f"{google.url}/oauth2/v3/certs", timeout=5).json()["keys"]


def test_demo_seed_gives_the_google_host_busy_time(google: GoogleStandIn) -> None:
    from datetime import date

    from devstack.demo import seed_google_demo
    from devstack.google.admin_client import GoogleAdmin

    admin = GoogleAdmin(google.url, google.ca_pem_path)
    email = seed_google_demo(admin, today=date(2026, 12, 7))
    assert email in {u["email"] for u in admin.users()}
    assert {e["summary"] for e in admin.events(email)} == {"Weekly sync", "Focus time", "Conference"}
