"""A user's maximum number of connected accounts: the product sets it per user (its plans, e.g. 2
on Free and 4 on Pro) with the API key only - a user must not raise their own; a user without one
has the global `SLOTBRIDGE_MAX_ACCOUNTS_PER_USER`. The connect flow enforces it when a new account
is linked; lowering it below what is connected disconnects nothing, it only refuses the next one."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lib.adapters.storage import storage_account
from lib.adapters.storage.tables import Table
from lib.core.auth import Forbidden, Principal
from lib.core.errors import FieldError, ValidationFailed
from lib.core.settings import get_settings
from lib.features.connections.records import AccountLimitRecord
from lib.features.connections.repository import user_connections

ROW = "limit"
MIN_ACCOUNTS = 1
# Every account costs subscriptions, sync and a Graph read per availability answer.
MAX_ACCOUNTS = 20


@dataclass(frozen=True)
class AccountLimit:
    max_accounts: int
    is_default: bool  # no limit of the user's own: the global setting applies
    connected_accounts: int


def _limits() -> Table[AccountLimitRecord]:
    return storage_account().table(AccountLimitRecord)


def _limit_of(user_id: str) -> tuple[int, bool]:
    own = _limits().find(user_id, ROW)
    return (own.max_accounts, False) if own is not None else (get_settings().max_accounts_per_user, True)


def max_accounts(user_id: str) -> int:
    """The user's limit: their own, else the global default."""
    return _limit_of(user_id)[0]


def account_limit(user_id: str) -> AccountLimit:
    return AccountLimit(*_limit_of(user_id), len(user_connections(user_id)))


def parse_max_accounts(body: Mapping[str, Any]) -> int:
    """The body `{"maxAccounts": n}`, n a whole number in MIN_ACCOUNTS..MAX_ACCOUNTS."""
    problems = [FieldError(str(k)[:64], "is not a known field") for k in body if k != "maxAccounts"]
    value = body.get("maxAccounts")
    if isinstance(value, bool) or not isinstance(value, int) or not MIN_ACCOUNTS <= value <= MAX_ACCOUNTS:
        problems.append(
            FieldError("maxAccounts", f"is required: a whole number from {MIN_ACCOUNTS} to {MAX_ACCOUNTS}")
        )
    if problems or not isinstance(value, int):
        raise ValidationFailed("The account limit is not valid.", problems)
    return value


def set_account_limit(principal: Principal, user_id: str, limit: Callable[[], int]) -> AccountLimit:
    """Store the user's own limit (the product's API key only); `limit()` parses the body once the
    caller may set it, so a user token is refused (403) whatever it sent."""
    if not principal.is_backend:
        raise Forbidden("Only the product backend (API key) may set a user's account limit.")
    value = limit()
    _limits().put(AccountLimitRecord(user_id=user_id, max_accounts=value, updated_at=datetime.now(UTC)))
    return AccountLimit(value, False, len(user_connections(user_id)))
