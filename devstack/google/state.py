"""In-memory state of the stand-in: users, calendars with their access roles, events, OAuth grants
and tokens, sync points, page cursors, watch channels and the mail Google would have sent."""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from .config import GoogleConfig, OAuthClient

AccessRole = Literal["freeBusyReader", "reader", "writer", "owner"]
ACCESS_ROLES: tuple[AccessRole, ...] = ("freeBusyReader", "reader", "writer", "owner")
# Google's event ids are base32hex: a-v and 0-9.
ID_ALPHABET = "abcdefghijklmnopqrstuv0123456789"


def new_event_id(length: int = 26) -> str:
    return "".join(secrets.choice(ID_ALPHABET) for _ in range(length))


def new_token(prefix: str, nbytes: int = 32) -> str:
    return prefix + secrets.token_urlsafe(nbytes)


def role_at_least(role: str | None, wanted: str) -> bool:
    order: tuple[str, ...] = ACCESS_ROLES
    return role in order and wanted in order and order.index(role) >= order.index(wanted)


@dataclass
class User:
    sub: str
    email: str
    name: str
    time_zone: str = "America/Los_Angeles"
    # Admin control of the consent page: None lets the user grant everything asked; a list keeps
    # only those scopes (full URLs) whatever the user ticks.
    grantable_scopes: list[str] | None = None
    declines_consent: bool = False


@dataclass
class Calendar:
    id: str
    summary: str
    time_zone: str
    owner_email: str
    # Who sees it in their calendarList, and with which role.
    acl: dict[str, AccessRole] = field(default_factory=dict)
    # freeBusy answers this reason in the calendar's errors[] instead of its busy times.
    freebusy_error: str | None = None
    # Sync tokens issued before the current generation answer 410 fullSyncRequired.
    sync_generation: int = 0
    deleted: bool = False


@dataclass
class Event:
    calendar_id: str
    data: dict[str, Any]  # the Google event resource as stored (id, start, end, ...)
    seq: int  # change sequence: incremental sync returns events changed after a token's seq
    deleted: bool = False
    conference_reads_left: int | None = None  # not None: createRequest still pending
    cancelled_instances: set[str] = field(default_factory=set)  # of a recurring series

    @property
    def id(self) -> str:
        return str(self.data["id"])


@dataclass
class Grant:
    """One user's consent to one client: the scopes granted so far and the refresh tokens."""

    id: str
    sub: str
    client_id: str
    scopes: list[str]
    status: str = "active"  # active | revoked | expired | invalid


@dataclass
class RefreshToken:
    token: str
    grant_id: str
    created: float
    valid: bool = True


@dataclass
class AccessToken:
    token: str
    grant_id: str
    sub: str
    client_id: str
    scopes: list[str]
    expires_at: float


@dataclass
class AuthCode:
    code: str
    client_id: str
    redirect_uri: str
    grant_id: str
    scopes: list[str]
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    offline: bool
    issue_refresh: bool
    expires_at: float


@dataclass
class PendingConsent:
    id: str
    params: dict[str, str]
    expires_at: float


@dataclass
class SyncPoint:
    calendar_id: str
    seq: int
    generation: int
    single_events: bool


@dataclass
class PageCursor:
    """The rest of a list answer: the items not yet sent, empty pages still to send, and the
    nextSyncToken the last page carries."""

    calendar_id: str
    items: list[dict[str, Any]]
    page_size: int
    empty_left: int
    next_sync_token: str | None
    offset: int = 0


@dataclass
class Channel:
    id: str
    resource_id: str
    resource_uri: str
    calendar_id: str
    client_id: str
    sub: str
    address: str
    token: str | None
    expiration_ms: int
    message_number: int = 0
    stopped: bool = False

    def active(self) -> bool:
        return not self.stopped and self.expiration_ms > time.time() * 1000


class State:
    def __init__(self, config: GoogleConfig) -> None:
        self.config = config
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.clients: dict[str, OAuthClient] = {c.client_id: c for c in self.config.clients}
            self.users: dict[str, User] = {}  # by sub
            self.calendars: dict[str, Calendar] = {}
            self.events: dict[tuple[str, str], Event] = {}  # (calendar id, event id)
            self.grants: dict[str, Grant] = {}
            self.refresh_tokens: dict[str, RefreshToken] = {}
            self.access_tokens: dict[str, AccessToken] = {}
            self.codes: dict[str, AuthCode] = {}
            self.pending: dict[str, PendingConsent] = {}
            self.sync_points: dict[str, SyncPoint] = {}
            self.cursors: dict[str, PageCursor] = {}
            self.channels: dict[str, Channel] = {}
            self.mail: list[dict[str, Any]] = []
            self._seq = 0
            self._subs = itertools.count(100000000000000000001)

    def next_seq(self) -> int:
        with self.lock:
            self._seq += 1
            return self._seq

    def current_seq(self) -> int:
        with self.lock:
            return self._seq

    def new_sub(self) -> str:
        return str(next(self._subs))

    def user_by_email(self, email: str) -> User | None:
        e = email.lower()
        return next((u for u in self.users.values() if u.email.lower() == e), None)

    def find_user(self, key: str) -> User | None:
        return self.users.get(key) or self.user_by_email(key)

    def calendars_of(self, email: str) -> list[Calendar]:
        e = email.lower()
        return [c for c in self.calendars.values() if not c.deleted and e in c.acl]

    def role(self, calendar: Calendar, email: str) -> AccessRole | None:
        return None if calendar.deleted else calendar.acl.get(email.lower())

    def grant_for(self, sub: str, client_id: str) -> Grant | None:
        return next(
            (
                g
                for g in self.grants.values()
                if g.sub == sub and g.client_id == client_id and g.status == "active"
            ),
            None,
        )

    def events_of(self, calendar_id: str) -> list[Event]:
        return [e for (cid, _), e in self.events.items() if cid == calendar_id]
