"""Typed queue messages of the sync machinery (JSON on the wire; no secrets, no clientState).

- `graph-notifications`: one `GraphNotice` per change or lifecycle notification that passed the
  clientState check (the intake wrote it; the processor reads it).
- `sync-requests`: one `SyncRequest` per unit of background sync work (connect, settings change,
  sync now, reconcile, resubscribe).
"""

from __future__ import annotations

import enum
import json
from dataclasses import asdict, dataclass
from typing import Any


class MalformedMessage(ValueError):
    """A queue message that is not one of ours (dropped and logged, never retried)."""


class NoticeKind(enum.StrEnum):
    CHANGE = "change"
    LIFECYCLE = "lifecycle"


class LifecycleEvent(enum.StrEnum):
    REAUTHORIZATION_REQUIRED = "reauthorizationRequired"
    SUBSCRIPTION_REMOVED = "subscriptionRemoved"
    MISSED = "missed"


@dataclass(frozen=True)
class GraphNotice:
    kind: NoticeKind
    subscription_id: str
    connection_id: str
    calendar_digest: str
    change_type: str | None = None  # created | updated | deleted (change notices)
    event_id: str | None = None  # resourceData.id (change notices); a hint only
    lifecycle_event: str | None = None  # lifecycle notices

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = self.kind.value
        return {k: v for k, v in data.items() if v is not None}

    @classmethod
    def from_body(cls, body: bytes) -> GraphNotice:
        data = _object(body)
        try:
            return cls(
                kind=NoticeKind(data["kind"]),
                subscription_id=_text(data, "subscription_id"),
                connection_id=_text(data, "connection_id"),
                calendar_digest=_text(data, "calendar_digest"),
                change_type=_opt_text(data, "change_type"),
                event_id=_opt_text(data, "event_id"),
                lifecycle_event=_opt_text(data, "lifecycle_event"),
            )
        except (KeyError, ValueError) as exc:
            raise MalformedMessage(f"not a graph notice ({type(exc).__name__})") from None


# The reason of a "Sync now" request (its completion is announced to the product).
SYNC_NOW = "sync_now"


class SyncScope(enum.StrEnum):
    USER = "user"  # every connection of the user (conflict calendars changed)
    CONNECTION = "connection"  # every conflict calendar of one connection
    CALENDAR = "calendar"  # one calendar


@dataclass(frozen=True)
class SyncRequest:
    scope: SyncScope
    user_id: str
    reason: str
    connection_id: str | None = None
    calendar_id: str | None = None
    full: bool = False  # re-read the whole window instead of a delta round
    resubscribe: bool = False  # (calendar scope) create a new subscription first
    verify_subscriptions: bool = False  # (connection scope) compare with Graph's list of subscriptions
    # (calendar scope) events whose change a listener could not apply (Graph or storage trouble):
    # report them to the listeners again - no sync round, which would not see them as changed.
    recheck_event_ids: tuple[str, ...] = ()
    # Names one "Sync now" request, so its sync.completed event is posted once however often the
    # queue retries the message.
    request_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["scope"] = self.scope.value
        data["recheck_event_ids"] = list(self.recheck_event_ids)
        return {k: v for k, v in data.items() if v is not None and v != []}

    @classmethod
    def from_body(cls, body: bytes) -> SyncRequest:
        data = _object(body)
        try:
            request = cls(
                scope=SyncScope(data["scope"]),
                user_id=_text(data, "user_id"),
                reason=_text(data, "reason"),
                connection_id=_opt_text(data, "connection_id"),
                calendar_id=_opt_text(data, "calendar_id"),
                full=bool(data.get("full", False)),
                resubscribe=bool(data.get("resubscribe", False)),
                verify_subscriptions=bool(data.get("verify_subscriptions", False)),
                recheck_event_ids=_event_ids(data.get("recheck_event_ids", [])),
                request_id=_opt_text(data, "request_id"),
            )
        except (KeyError, ValueError) as exc:
            raise MalformedMessage(f"not a sync request ({type(exc).__name__})") from None
        if request.scope is not SyncScope.USER and not request.connection_id:
            raise MalformedMessage("a connection or calendar sync request names its connection")
        if request.scope is SyncScope.CALENDAR and not request.calendar_id:
            raise MalformedMessage("a calendar sync request names its calendar")
        if request.recheck_event_ids and request.scope is not SyncScope.CALENDAR:
            raise MalformedMessage("events are rechecked per calendar")
        return request


def _object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise MalformedMessage("not JSON") from None
    if not isinstance(data, dict):
        raise MalformedMessage("not a JSON object")
    return data


def _text(data: dict[str, Any], name: str) -> str:
    value = data[name]
    if not isinstance(value, str) or not value:
        raise ValueError(name)
    return value


def _opt_text(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(name)
    return value


MAX_RECHECK_EVENTS = 500


def _event_ids(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or len(value) > MAX_RECHECK_EVENTS:
        raise ValueError("recheck_event_ids")
    if not all(isinstance(v, str) and v for v in value):
        raise ValueError("recheck_event_ids")
    return tuple(value)
