"""Cold start: `import function_app` (what a fresh worker does before it can answer Graph's
validation handshake) loads no SDK and no service module — those are imported by the handlers that
need them. Before, every blueprint imported its lib services at module level: 93 app modules and
`requests` (via the Graph client) were loaded before the first handshake could be answered."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

HEAVY = (
    "requests",
    "msal",
    "cryptography",
    "azure.data.tables",
    "azure.storage.queue",
    "azure.keyvault.secrets",
    "azure.identity",
    "lib.adapters.graph",
    "lib.providers.microsoft.provider",
    # pydantic itself loads at start-up (the settings model validates every setting then); the
    # edge models are the handlers' to import.
    "lib.api.bookings",
    "lib.api.links",
    "lib.api.connections",
    "lib.api.availability",
    "lib.features.bookings.create",
    "lib.features.bookings.manage",
    "lib.features.bookings.release",
    "lib.features.availability.service",
    "lib.features.connections.connect_flow",
    "lib.features.health",
)


def test_importing_function_app_loads_no_sdk_or_service_module() -> None:
    env = {
        **os.environ,
        "AzureWebJobsStorage": "UseDevelopmentStorage=true",
        "SLOTBRIDGE_CLIENT_ID": "c",
        "SLOTBRIDGE_CLIENT_SECRET": "s",
        "SLOTBRIDGE_PUBLIC_BASE_URL": "https://slotbridge.example",
        "SLOTBRIDGE_DATA_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
    }
    code = "import json, sys; import function_app; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    loaded = set(json.loads(done.stdout))
    assert sorted(m for m in loaded if m in HEAVY) == []
    app_modules = [m for m in loaded if m.split(".")[0] in ("lib", "functions")]
    assert len(app_modules) < 50, sorted(app_modules)
