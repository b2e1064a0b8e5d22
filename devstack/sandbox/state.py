"""Everything the sandbox remembers, as typed records behind one lock.

Handlers take `state.lock` around any read-modify-write; outbound HTTP (validation handshakes,
notification delivery) happens outside the lock so a slow receiver cannot stall the API.
"""

from __future__ import annotations

import secrets
import threading
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from .config import CONSUMERS_TENANT_ID, AppRegistration, SandboxConfig

AccountKind = Literal["work", "personal"]
SHOW_AS = ("free", "tentative", "busy", "oof", "workingElsewhere", "unknown")


def new_id(prefix: str) -> str:
    # Lowercase only: Graph routes are matched case-insensitively (see app.py).
    return f"{prefix}{secrets.token_hex(16)}"


def new_token(prefix: str) -> str:
    return f"{prefix}{secrets.token_urlsafe(32)}"


@dataclass
class Account:
    id: str  # object id (oid) as in the id_token
    email: str
    display_name: str
    kind: AccountKind
    tenant_id: str
    time_zone: str
    # Sign-in page switches.
    admin_approval_required: bool = False
    conditional_access_blocked: bool = False
    declines_consent: bool = False
    grantable_scopes: list[str] | None = None  # None: grant what is asked
    # An AADSTS code of identity.SIGN_IN_FAILURES: the sign-in page and refreshes fail with it.
    sign_in_failure: int | None = None
    delta_generation: int = 1

    @property
    def graph_id(self) -> str:
        """Graph's user id: the oid for work accounts, 16 hex digits for personal ones."""
        if self.kind == "personal":
            return self.id.replace("-", "")[-16:]
        return self.id

    @staticmethod
    def make_oid(kind: AccountKind) -> str:
        if kind == "personal":
            tail = secrets.token_hex(8)
            return f"00000000-0000-0000-{tail[:4]}-{tail[4:]}"
        return str(uuid.uuid4())


@dataclass
class Calendar:
    id: str
    account_id: str
    name: str
    can_edit: bool
    is_default: bool
    owner_name: str
    owner_address: str
    color: str = "auto"
    hex_color: str = ""
    change_key: str = field(default_factory=lambda: secrets.token_urlsafe(12))


@dataclass
class Event:
    id: str
    account_id: str
    calendar_id: str
    subject: str
    body: dict[str, str]
    start: datetime  # naive wall time in start_tz
    start_tz: str
    end: datetime
    end_tz: str
    is_all_day: bool
    show_as: str
    recurrence: dict[str, Any] | None
    attendees: list[dict[str, Any]]
    organizer: dict[str, Any]
    location: dict[str, Any]
    transaction_id: str | None
    ical_uid: str
    is_online_meeting: bool
    online_meeting_provider: str
    online_meeting: dict[str, Any] | None
    created: datetime
    last_modified: datetime
    change_key: str
    seq: int
    extended_properties: dict[str, str] = field(default_factory=dict)
    categories: list[str] = field(default_factory=list)
    sensitivity: str = "normal"
    importance: str = "normal"
    is_cancelled: bool = False
    excluded_dates: set[date] = field(default_factory=set)
    deleted: bool = False


@dataclass
class PendingAuthorization:
    id: str
    tenant: str
    params: dict[str, str]
    expires_at: float


@dataclass
class AuthCode:
    code: str
    client_id: str
    redirect_uri: str
    account_id: str
    scopes: list[str]
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    expires_at: float
    redeemed: bool = False


@dataclass
class Grant:
    """One user's consent to one app: what refresh tokens hang off."""

    id: str
    account_id: str
    client_id: str
    scopes: list[str]
    status: Literal["active", "revoked", "expired", "invalid"] = "active"
    issued_at: float = 0.0


@dataclass
class RefreshToken:
    token: str
    grant_id: str
    rotated: bool = False


@dataclass
class AccessToken:
    token: str
    client_id: str
    audience: str  # GRAPH_RESOURCE or KEYVAULT_RESOURCE
    scopes: list[str]
    expires_at: float
    account_id: str | None  # None for app-only (client credentials) tokens
    tenant_id: str


@dataclass
class Subscription:
    id: str
    account_id: str
    client_id: str
    resource: str
    calendar_id: str
    change_types: list[str]
    notification_url: str
    lifecycle_notification_url: str | None
    client_state: str | None
    expiration: datetime


@dataclass
class SecretVersion:
    name: str
    version: str
    value: str
    content_type: str | None
    tags: dict[str, str] | None
    enabled: bool
    created: int
    updated: int


@dataclass
class DeletedSecret:
    versions: list[SecretVersion]
    deleted_date: int
    scheduled_purge_date: int


@dataclass
class State:
    config: SandboxConfig
    lock: threading.RLock = field(default_factory=threading.RLock)
    apps: dict[str, AppRegistration] = field(default_factory=dict)
    accounts: dict[str, Account] = field(default_factory=dict)
    calendars: dict[str, Calendar] = field(default_factory=dict)
    events: dict[str, Event] = field(default_factory=dict)
    pending: dict[str, PendingAuthorization] = field(default_factory=dict)
    codes: dict[str, AuthCode] = field(default_factory=dict)
    grants: dict[str, Grant] = field(default_factory=dict)
    # Tenant-wide (admin) consent: (tenant id, client id) -> the scopes the admin approved.
    admin_consents: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    refresh_tokens: dict[str, RefreshToken] = field(default_factory=dict)
    access_tokens: dict[str, AccessToken] = field(default_factory=dict)
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    secrets: dict[str, list[SecretVersion]] = field(default_factory=dict)
    deleted_secrets: dict[str, DeletedSecret] = field(default_factory=dict)
    seq: int = 0  # change counter behind delta tokens

    def __post_init__(self) -> None:
        self.apps = {a.client_id: a for a in self.config.apps}

    def reset(self) -> None:
        with self.lock:
            for name in (
                "accounts",
                "calendars",
                "events",
                "pending",
                "codes",
                "grants",
                "admin_consents",
                "refresh_tokens",
                "access_tokens",
                "subscriptions",
                "secrets",
                "deleted_secrets",
            ):
                getattr(self, name).clear()
            self.apps = {a.client_id: a for a in self.config.apps}
            self.seq = 0

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def find_account(self, key: str) -> Account | None:
        """By oid, Graph id or e-mail (case-insensitive)."""
        with self.lock:
            if key in self.accounts:
                return self.accounts[key]
            low = key.lower()
            for a in self.accounts.values():
                if a.email.lower() == low or a.graph_id == low:
                    return a
        return None

    def account_by_email(self, email: str) -> Account | None:
        low = email.lower()
        return next((a for a in self.accounts.values() if a.email.lower() == low), None)

    def calendars_of(self, account_id: str) -> list[Calendar]:
        cals = [c for c in self.calendars.values() if c.account_id == account_id]
        # Default first, then in creation order (dicts keep insertion order).
        return sorted(cals, key=lambda c: not c.is_default)

    def default_calendar(self, account_id: str) -> Calendar | None:
        return next((c for c in self.calendars_of(account_id) if c.is_default), None)

    def tenant_of_kind(self, kind: AccountKind) -> str:
        return CONSUMERS_TENANT_ID if kind == "personal" else self.config.tenant_id
