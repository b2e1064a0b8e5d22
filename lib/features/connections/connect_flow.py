"""Connecting an account: the sign-in started and completed by the chosen provider's `Accounts`
(`lib.providers.accounts`; for Microsoft, the authorization-code flow with PKCE, state and nonce;
for Google, code + PKCE with offline access), the flow kept server-side (sealed, single use, 10
minutes, with the provider that started it) under the state chosen here, and the connection rules
applied when the user is sent back - the same for every provider: one account belongs to one
user, and the per-user account limit counts the accounts of every provider."""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from lib.adapters.identity.sign_in_errors import (
    ADMIN_CONSENT_STATE_PREFIX,
    admin_consent_error,
)
from lib.adapters.keyvault import data_keys
from lib.adapters.storage import storage_account
from lib.adapters.storage.keys import encode_key
from lib.adapters.storage.tables import AlreadyExists, ConcurrentUpdate, RecordNotFound
from lib.core.crypto import SealedValueInvalid, seal, unseal
from lib.core.errors import SlotbridgeError
from lib.core.settings import get_settings
from lib.features.connections import events, hooks, host_view
from lib.features.connections.account_limits import max_accounts
from lib.features.connections.calendars import default_calendar_settings
from lib.features.connections.errors import AccountAlreadyLinked, AccountLimitReached, InvalidSignInState
from lib.features.connections.records import (
    AccountLinkRecord,
    CalendarSettingsRecord,
    ConnectionRecord,
    ConnectionStatus,
    ConnectMode,
    PendingFlowRecord,
)
from lib.features.connections.return_urls import allowed_origin, allowed_return_url, origin_of
from lib.providers import google, microsoft
from lib.providers.accounts import Accounts, SignedInAccount
from lib.providers.registry import provider_for

log = logging.getLogger("slotbridge.connect")

FLOW_LIFETIME = timedelta(minutes=10)
MAX_CALLBACK_PARAM = 4096
# The provider a new connection signs in with when the request names none (stored on the connection).
CONNECT_PROVIDER = microsoft.NAME
# The providers whose accounts sign in (`none` has no accounts).
SIGN_IN_PROVIDERS = (microsoft.NAME, google.NAME)


def _accounts(provider: str) -> Accounts:
    return provider_for(provider).accounts()


@dataclass(frozen=True)
class ConnectStart:
    authorization_url: str
    admin_consent_url: str | None  # the provider's, when it has an admin-consent step
    expires_at: datetime
    mode: ConnectMode


@dataclass(frozen=True)
class CallbackOutcome:
    """What the callback page needs: how to answer (popup or redirect, to where) and the result."""

    mode: ConnectMode | None
    return_url: str | None
    opener_origin: str | None
    connection: ConnectionRecord | None = None
    error: SlotbridgeError | None = None


@dataclass(frozen=True)
class AdminConsentOutcome:
    """What the admin-consent landing page needs: the approving tenant, or why it did not work."""

    tenant_id: str | None = None
    error: SlotbridgeError | None = None


def _flow_id(state: str) -> str:
    # Keyed by a hash: the raw state never becomes a key that a table listing would show.
    return hashlib.sha256(state.encode()).hexdigest()


def start_connect(
    user_id: str,
    connect_mode: ConnectMode,
    return_url: str | None,
    opener_origin: str | None,
    provider: str = CONNECT_PROVIDER,
) -> ConnectStart:
    """Begin the sign-in with `provider` (one of `SIGN_IN_PROVIDERS`); a return URL or opener
    origin that is not allowed falls back quietly."""
    settings = get_settings()
    encode_key(user_id, what="userId")
    safe_return = allowed_return_url(return_url, settings.allowed_origins) or settings.default_return_url
    opener = allowed_origin(opener_origin, settings.allowed_origins)
    if opener is None and safe_return is not None:
        opener = allowed_origin(origin_of(safe_return), settings.allowed_origins)
    state = secrets.token_urlsafe(32)
    started = _accounts(provider).start_sign_in(state)
    flow_id = _flow_id(state)
    expires_at = datetime.now(UTC) + FLOW_LIFETIME
    storage_account().table(PendingFlowRecord).create(
        PendingFlowRecord(
            flow_id=flow_id,
            user_id=user_id,
            sealed_flow=seal(json.dumps(started.flow).encode(), data_keys().current(), flow_id.encode()),
            mode=connect_mode,
            return_url=safe_return,
            opener_origin=opener,
            expires_at=expires_at,
            provider=provider,
        )
    )
    return ConnectStart(started.authorization_url, started.admin_consent_url, expires_at, connect_mode)


def _take_flow(state: str | None) -> tuple[PendingFlowRecord, dict[str, Any]]:
    """The pending flow for `state`, removed so it can never be used again."""
    if not state or len(state) > MAX_CALLBACK_PARAM:
        raise InvalidSignInState("The sign-in response has no state. Start connecting again.")
    flows = storage_account().table(PendingFlowRecord)
    flow_id = _flow_id(state)
    record = flows.find(flow_id, "flow")
    if record is None:
        raise InvalidSignInState("This sign-in link is unknown or was already used. Start connecting again.")
    if record.consumed_at is not None:
        raise InvalidSignInState("This sign-in link was already used. Start connecting again.")
    record.consumed_at = datetime.now(UTC)
    try:
        # ETag-conditional claim: of concurrent callbacks with one state, exactly one gets past here.
        # (A conditional delete would not do: the SDK treats deleting a missing row as success.)
        flows.update(record)
    except (ConcurrentUpdate, RecordNotFound):
        raise InvalidSignInState("This sign-in link was already used. Start connecting again.") from None
    flows.delete(record)  # claimed: the row has no further use
    if record.expires_at < datetime.now(UTC):
        raise InvalidSignInState("This sign-in link has expired. Start connecting again.")
    try:
        flow = json.loads(unseal(record.sealed_flow, data_keys(), flow_id.encode()))
    except (SealedValueInvalid, ValueError):
        raise InvalidSignInState("This sign-in link is not valid. Start connecting again.") from None
    return record, flow


def complete_connect(params: dict[str, str]) -> CallbackOutcome:
    """Handle the provider's answer; never raises for the user's or the provider's errors, returns them."""
    try:
        record, flow = _take_flow(params.get("state"))
    except SlotbridgeError as error:
        return CallbackOutcome(None, None, None, error=error)
    outcome = CallbackOutcome(record.mode, record.return_url, record.opener_origin)
    try:
        connection = _exchange_and_link(record.user_id, record.provider, flow, params)
    except SlotbridgeError as error:
        log.info("Connect for user failed: %s", error.code)
        return CallbackOutcome(outcome.mode, outcome.return_url, outcome.opener_origin, error=error)
    return CallbackOutcome(outcome.mode, outcome.return_url, outcome.opener_origin, connection=connection)


def is_admin_consent_answer(params: dict[str, str]) -> bool:
    """Whether the callback carries the admin-consent endpoint's answer, not a user's sign-in: it says
    `admin_consent`, or has the admin-consent link's state, or is an `error` with no state at all
    (a sign-in always has one; the link older register-app.sh printed has none)."""
    state = params.get("state") or ""
    return (
        "admin_consent" in params
        or state.startswith(ADMIN_CONSENT_STATE_PREFIX)
        or (not state and bool(params.get("error")))
    )


def complete_admin_consent(params: dict[str, str]) -> AdminConsentOutcome:
    """Read the admin-consent answer: Microsoft has already recorded (or refused) the approval, so
    nothing is stored here and the state proves nothing (anyone can get one): the administrator just
    needs to know how it went. Never raises: a failure is an outcome the page shows."""
    try:
        if params.get("error"):
            error = admin_consent_error(
                params["error"][:MAX_CALLBACK_PARAM],
                (params.get("error_description") or "")[:MAX_CALLBACK_PARAM],
                get_settings(),
            )
            log.info("Admin consent was not given: %s", error.code)
            return AdminConsentOutcome(error=error)
        if params.get("admin_consent", "").lower() == "true":
            log.info("Admin consent was given")
            return AdminConsentOutcome(tenant_id=params.get("tenant"))
        return AdminConsentOutcome(
            error=InvalidSignInState(
                "Microsoft's answer does not say whether the approval worked. Open the approval link again."
            )
        )
    except SlotbridgeError as error:
        log.warning("Admin consent answer could not be read: %s", error.code)
        return AdminConsentOutcome(error=error)


def _exchange_and_link(
    user_id: str, provider: str, flow: dict[str, Any], params: dict[str, str]
) -> ConnectionRecord:
    accounts = _accounts(provider)
    account = accounts.complete_sign_in(flow, params)
    connection = _link(user_id, provider, account)

    accounts.save_tokens(connection.connection_id, account)
    _ensure_default_calendar_settings(connection)
    events.announce_connected(connection)
    host_view.forget(user_id)
    hooks.connected.publish(hooks.ConnectionRef(connection.user_id, connection.connection_id))
    log.info("Connected account to user (connection %s)", connection.connection_id)
    return connection


def _link(user_id: str, provider: str, account: SignedInAccount) -> ConnectionRecord:
    """Apply the connection rules: one account, one user; reconnect heals; a per-user limit over
    every provider's accounts (the user's own, else the global one: `account_limits`)."""
    links = storage_account().table(AccountLinkRecord)
    connections = storage_account().table(ConnectionRecord)
    now = datetime.now(UTC)
    account_id, email, name, scopes = account.account_id, account.email, account.display_name, account.scopes

    link = links.find(account_id, "link")
    if link is None:
        existing = [c for c in connections.query(partition=user_id)]
        limit = max_accounts(user_id)
        if len(existing) >= limit:
            raise AccountLimitReached(
                f"You can connect at most {limit} calendar accounts. Disconnect one first."
            )
        link = AccountLinkRecord(
            account_id=account_id, user_id=user_id, connection_id=str(uuid.uuid4()), created_at=now
        )
        try:
            links.create(link)
        except AlreadyExists:
            link = links.get(account_id, "link")
    if link.user_id != user_id:
        raise AccountAlreadyLinked(
            "This calendar account is already connected to another user. To use its calendar here, share "
            "the calendar with the account you connect, or disconnect it there first."
        )

    def heal(current: ConnectionRecord) -> ConnectionRecord:
        current.status = ConnectionStatus.CONNECTED
        current.email, current.display_name, current.scopes = email, name, scopes
        current.needs_reconnect_since = None
        current.last_error_code = None
        current.updated_at = now
        return current

    record = connections.find(user_id, link.connection_id)
    if record is not None:
        return connections.mutate(user_id, link.connection_id, heal)
    record = ConnectionRecord(
        user_id=user_id,
        connection_id=link.connection_id,
        account_id=account_id,
        email=email,
        display_name=name,
        tenant_id=account.tenant_id,
        is_personal=account.is_personal,
        provider=provider,
        scopes=scopes,
        created_at=now,
        updated_at=now,
    )
    try:
        return connections.create(record)
    except AlreadyExists:
        return connections.mutate(user_id, link.connection_id, heal)


def _ensure_default_calendar_settings(connection: ConnectionRecord) -> None:
    """A user's first connection: its primary calendar is both checked for conflicts and written to."""
    table = storage_account().table(CalendarSettingsRecord)
    if table.find(connection.user_id, "settings") is not None:
        return
    defaults = default_calendar_settings(connection)
    if defaults is None:
        return
    try:
        table.create(defaults)
    except AlreadyExists:
        pass


def sweep_expired_flows(now: datetime | None = None) -> int:
    """Delete sign-in flows past their lifetime: ones never completed (the user closed the
    pop-up) and claimed ones whose delete failed. Run by the reconciliation timer."""
    flows = storage_account().table(PendingFlowRecord)
    removed = 0
    for record in list(flows.query(where="expires_at lt @now", parameters={"now": now or datetime.now(UTC)})):
        try:
            flows.delete(record)
            removed += 1
        except (ConcurrentUpdate, RecordNotFound):
            continue  # a callback claimed it meanwhile; that callback removes it
    return removed
