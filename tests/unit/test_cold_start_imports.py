"""Cold start: `import function_app` (what a fresh worker does before it can answer Graph's
validation handshake) loads no SDK and no service module — those are imported by the handlers that
need them. Before, every blueprint imported its lib services at module level: 93 app modules and
`requests` (via the Graph client) were loaded before the first handshake could be answered."""

from __future__ import annotations

import ast
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
    # OpenTelemetry loads on the first invocation, and only when telemetry is on (lib/core/tracing.py).
    "opentelemetry",
    "azure.monitor",
    "lib.core.tracing",
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


# Function-local imports exist only for the cold start, and each kind is named here:
# - in `functions/`, a handler imports its use case and edge models when it is first called, and a
#   listener of `functions/wiring.py` imports its feature when it first runs;
# - in `lib/`, the SDKs below are imported by the call that needs them, so that the modules a cold
#   start loads (storage records, tables and queues, crypto, input rules) stay light;
# - and these `lib` modules, whose own imports are SDKs: the storage clients and transport
#   (azure-core) and the pooled HTTP sessions (requests), loaded by the first storage call;
# - and OpenTelemetry (`lib.core.tracing`), loaded by the first invocation when telemetry is on.
LAZY_SDKS = {
    "azure",
    "msal",
    "cryptography",
    "requests",
    "urllib3",
    "email_validator",
    "urllib",
    "opentelemetry",
}
LAZY_LIB_MODULES = {
    "lib.adapters.storage.clients",
    "lib.adapters.storage.transport",
    "lib.adapters.outbound_http",
    "lib.core.tracing",
}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _function_local_imports(tree: ast.AST) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []

    def walk(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                continue
            if in_function and isinstance(child, ast.ImportFrom):
                found.append((child.lineno, "." * child.level + (child.module or "")))
            elif in_function and isinstance(child, ast.Import):
                found.extend((child.lineno, alias.name) for alias in child.names)
            walk(child, in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef))

    walk(tree, False)
    return found


def test_function_local_imports_are_only_the_cold_start_ones() -> None:
    unexplained = []
    for path in sorted((ROOT / "lib").rglob("*.py")):
        for line, module in _function_local_imports(ast.parse(path.read_text())):
            if module.split(".")[0] not in LAZY_SDKS and module not in LAZY_LIB_MODULES:
                unexplained.append(f"{path.relative_to(ROOT)}:{line} {module}")
    for path in sorted((ROOT / "functions").glob("*.py")):
        for line, module in _function_local_imports(ast.parse(path.read_text())):
            if module.split(".")[0] not in ("lib", "functions"):
                unexplained.append(f"{path.relative_to(ROOT)}:{line} {module}")
    assert unexplained == [], "a function-local import the cold start does not need: import it at the top"
