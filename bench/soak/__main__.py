"""`python -m bench.soak [--minutes 3] [--clients 8] [--hosts 4]`: start Azurite, the Microsoft
sandbox and the app (its own process), run the soak, print the table; exit 1 if an invariant fails."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from bench.stack_env import local_stack_env
from devstack.azurite import Azurite
from devstack.http_server import free_loopback_port
from devstack.sandbox import Sandbox, SandboxConfig
from devstack.sandbox.admin_client import SandboxAdmin
from lib.core.settings import reset_settings_caches

from .soak import GRAPH_TIMEOUT_S, SoakConfig, app_process, run_soak

API_KEY = "soak-api-key"


def soak_env(azurite: Azurite, sandbox: Sandbox, port: int) -> dict[str, str]:
    """The app's settings for a soak: the local stack, the busy cache on, reconciliation and
    booking housekeeping every 30 s, a Graph timeout short enough for late event writes to outlast
    it without stalling the run."""
    return local_stack_env(
        azurite,
        sandbox,
        port,
        API_KEY,
        SLOTBRIDGE_AVAILABILITY_SOURCE="cached",
        SLOTBRIDGE_SUBSCRIPTION_RENEWAL_SCHEDULE="0 0 3 1 1 *",
        SLOTBRIDGE_SYNC_RECONCILE_SCHEDULE="*/30 * * * * *",
        SLOTBRIDGE_BOOKING_HOUSEKEEPING_SCHEDULE="*/30 * * * * *",
        SLOTBRIDGE_GRAPH_TIMEOUT_SECONDS=str(GRAPH_TIMEOUT_S),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--hosts", type=int, default=4)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    config = SoakConfig(
        seconds=args.minutes * 60,
        clients=args.clients,
        hosts=args.hosts,
        max_requests=int(args.minutes * 60 * 40),
        seed=args.seed,
    )
    sandbox_config = SandboxConfig(notification_retry_delays=(0.1, 0.2, 0.4), notification_max_age=30.0)
    with Azurite() as azurite, Sandbox(sandbox_config) as sandbox, tempfile.TemporaryDirectory() as tmp:
        port = free_loopback_port()
        env = soak_env(azurite, sandbox, port)
        os.environ.update(env)
        reset_settings_caches()
        admin = SandboxAdmin(sandbox.url, sandbox.ca_pem_path)
        log_path = Path(tmp) / "app.log"
        with app_process(env, port, log_path) as app:
            print(f"soak: {config.seconds:.0f} s, {config.clients} clients, app at {app.api_url}", flush=True)
            report = run_soak(API_KEY, admin, sandbox.ca_pem_path, app, config)
        print(report.table())
        log_text = log_path.read_text()
        if "tracemalloc:" in log_text:  # SOAK_TRACEMALLOC=<seconds> was set for the app
            print("\n" + log_text[log_text.index("tracemalloc:") :])
        if not report.passed:
            print(f"\napp log (last lines of {log_path}):")
            print("\n".join(log_path.read_text().splitlines()[-40:]))
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
