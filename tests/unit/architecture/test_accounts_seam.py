"""Accounts behind the provider seam: connecting an account and listing its calendars ask the
provider (`lib.providers.accounts`), so connections' connect flow and calendar listing import no
MSAL, no token vault and no Graph; and provider `none`, which has no accounts, refuses them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from functions.wiring import install_providers
from lib.core.errors import NotFound
from lib.providers import none as no_calendar
from lib.providers import registry
from lib.providers.accounts import AccountRef

ROOT = Path(__file__).resolve().parents[3]
BEHIND_THE_SEAM = ("lib/features/connections/connect_flow.py", "lib/features/connections/calendars.py")
PROVIDER_SPECIFIC = (
    "msal",
    "lib.adapters.graph",
    "lib.adapters.identity.msal_client",
    "lib.adapters.identity.token_vault",
    "lib.features.connections.graph_access",
)


def _imports(source: str) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_connect_flow_and_calendar_listing_import_nothing_of_microsoft() -> None:
    offenders = {
        path: sorted(m for m in _imports((ROOT / path).read_text()) if m.startswith(PROVIDER_SPECIFIC))
        for path in BEHIND_THE_SEAM
    }
    assert offenders == {path: [] for path in BEHIND_THE_SEAM}


def test_provider_none_has_no_accounts_to_sign_in_or_list() -> None:
    install_providers()
    accounts = registry.provider_for(no_calendar.NAME).accounts()
    account = AccountRef("u", "c", "a")
    with pytest.raises(NotFound):
        accounts.start_sign_in("state")
    with pytest.raises(NotFound):
        accounts.complete_sign_in({}, {"state": "state", "code": "code"})
    with pytest.raises(NotFound):
        accounts.calendars(account)
    with pytest.raises(NotFound):
        accounts.default_calendar(account)
