"""A short soak (`bench.soak`): ~40 s of mixed traffic from several clients against the app in its
own process and the sandbox — bookings, reschedules, cancellations, Outlook changes, dropped and
duplicated notifications, 429/503 storms, a grant revoked mid-run — then every invariant must hold.
`python -m bench.soak --minutes 3` is the long run."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.soak.__main__ import API_KEY, soak_env
from bench.soak.soak import SoakConfig, app_process, run_soak
from devstack.azurite import Azurite
from devstack.http_server import free_loopback_port
from devstack.sandbox import Sandbox
from devstack.sandbox.admin_client import SandboxAdmin
from lib.core.settings import reset_settings_caches
from tests.fixtures.log_guard import CREDENTIAL

pytestmark = pytest.mark.integration


@pytest.mark.timeout(600)
def test_invariants_hold_after_a_short_soak(
    azurite: Azurite, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_loopback_port()
    env = soak_env(azurite, sandbox, port)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    reset_settings_caches()
    admin = SandboxAdmin(sandbox.url, sandbox.ca_pem_path)
    config = SoakConfig(seconds=40, clients=4, hosts=3, max_requests=1500, rss_bound_mib=25)
    log_path = tmp_path / "app.log"
    try:
        with app_process(env, port, log_path) as app:
            report = run_soak(API_KEY, admin, sandbox.ca_pem_path, app, config)
    finally:
        admin.clear_faults()
        reset_settings_caches()
    print(report.table())
    failed = [c for c in report.checks if not c.ok]
    assert not failed, report.table()
    assert not CREDENTIAL.search(log_path.read_text()), "a credential reached the app's log"
