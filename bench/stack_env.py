"""The app settings every bench uses to run the app against its own local stack (Azurite, the
Microsoft sandbox, a dev host on `port`), with a fresh table prefix and fresh keys, and
`local_stack()`, which starts that stack and puts the settings in this process's environment."""

from __future__ import annotations

import base64
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

from devstack.azurite import Azurite
from devstack.http_server import free_loopback_port
from devstack.sandbox import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Sandbox
from devstack.sandbox.admin_client import SandboxAdmin
from lib.core.settings import reset_settings_caches

BENCH_API_KEY = "bench-api-key"

UNLIMITED_RATES = (
    "SLOTBRIDGE_AVAILABILITY_RATE_PER_ADDRESS",
    "SLOTBRIDGE_AVAILABILITY_RATE_PER_LINK",
    "SLOTBRIDGE_BOOKING_RATE_PER_ADDRESS",
    "SLOTBRIDGE_BOOKING_RATE_PER_LINK",
)


def local_stack_env(
    azurite: Azurite, sandbox: Sandbox, port: int, api_key: str, **extra: str
) -> dict[str, str]:
    return {
        "AzureWebJobsStorage": azurite.connection_string,
        "SLOTBRIDGE_TABLE_PREFIX": "b" + uuid.uuid4().hex[:12],
        "SLOTBRIDGE_AUTHORITY_HOST": sandbox.url,
        "SLOTBRIDGE_GRAPH_BASE_URL": f"{sandbox.url}/v1.0",
        "SLOTBRIDGE_CA_BUNDLE": sandbox.ca_pem_path,
        "SLOTBRIDGE_CLIENT_ID": DEFAULT_CLIENT_ID,
        "SLOTBRIDGE_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
        "SLOTBRIDGE_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "SLOTBRIDGE_DATA_KEY": base64.b64encode(os.urandom(32)).decode(),
        "SLOTBRIDGE_API_KEYS": api_key,
        "SLOTBRIDGE_CLIENT_STATE_KEY": base64.b64encode(os.urandom(32)).decode(),
        # The benches measure the app from one address, not its per-address rate limits.
        **{name: "1000000/minute" for name in UNLIMITED_RATES},
        **quiet_timers(),
        **extra,
    }


def quiet_timers(schedule: str = "0 0 0 1 1 *") -> dict[str, str]:
    """Every timer trigger's schedule setting (the `%SETTING%` of each `schedule=` in functions/),
    set to `schedule` (by default a moment no bench reaches), so no sweep adds traffic to what a
    bench measures. Read from the code, so a new timer cannot break the benches' dev host."""
    found: set[str] = set()
    for source in (Path(__file__).resolve().parent.parent / "functions").glob("*.py"):
        found.update(re.findall(r'schedule="%(\w+)%"', source.read_text()))
    return dict.fromkeys(sorted(found), schedule)


class LocalStack(NamedTuple):
    azurite: Azurite
    sandbox: Sandbox
    admin: SandboxAdmin
    port: int  # free, for the dev host the settings point at


@contextmanager
def local_stack(**extra: str) -> Iterator[LocalStack]:
    """Azurite and the Microsoft sandbox, started, with `local_stack_env` (plus `extra`) in this
    process's environment and the settings caches reset to it; both stop when the block ends."""
    with Azurite() as azurite, Sandbox() as sandbox:
        port = free_loopback_port()
        os.environ.update(local_stack_env(azurite, sandbox, port, BENCH_API_KEY, **extra))
        reset_settings_caches()
        yield LocalStack(azurite, sandbox, SandboxAdmin(sandbox.url, sandbox.ca_pem_path), port)
