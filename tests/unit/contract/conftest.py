"""The routes the app registers (as the dev host loads them), shared by the contract tests."""

from __future__ import annotations

import re
from typing import Any

import pytest

from devstack.funchost import load_functions


@pytest.fixture(scope="module")
def app_routes(monkeypatch_module: pytest.MonkeyPatch) -> set[tuple[str, str]]:
    routes = set()
    for function in load_functions():
        if function.trigger_type != "httpTrigger":
            continue
        path = "/" + re.sub(r"\{(\w+)(:[a-z]+)?\??\}", r"{\1}", function.trigger["route"])
        for method in function.trigger.get("methods") or []:
            routes.add((path, str(method).lower()))
    return routes


@pytest.fixture(scope="module")
def monkeypatch_module() -> Any:
    # Importing function_app validates settings; give it a complete, harmless set.
    mp = pytest.MonkeyPatch()
    for name, value in {
        "AzureWebJobsStorage": "UseDevelopmentStorage=true",
        "SLOTBRIDGE_CLIENT_ID": "c",
        "SLOTBRIDGE_CLIENT_SECRET": "s",
        "SLOTBRIDGE_PUBLIC_BASE_URL": "https://slotbridge.example",
        "SLOTBRIDGE_DATA_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
    }.items():
        mp.setenv(name, value)
    yield mp
    mp.undo()
