"""The webhook intake behind `POST /graph/notifications` and `POST /graph/lifecycle`, and (for a
service that pushes by channel, Google) `accept_push` behind `POST /google/notifications`.

It does as little as possible, because Graph wants an answer within 3 seconds and a cold start
should not pay for SDKs: answer the validation handshake; otherwise parse the (size-limited) JSON,
verify each item's clientState in constant time, and enqueue each genuine item as its own message on
`graph-notifications`. No Graph call, no token, no table read. Items that fail verification are
dropped (and counted in the log, never with their clientState); if the queue cannot be written,
`StorageUnavailable` propagates so the caller answers 5xx and Graph retries.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from lib.adapters.storage import storage_account
from lib.adapters.storage.queues import GRAPH_NOTIFICATIONS_QUEUE
from lib.core.errors import FieldError, ValidationFailed
from lib.core.input_rules import text_fault
from lib.core.json_body import parse_json_object
from lib.core.settings import get_settings
from lib.features.sync.client_state import verify_client_state
from lib.features.sync.messages import GraphNotice, LifecycleEvent, NoticeKind

log = logging.getLogger("slotbridge.sync.intake")

MAX_BODY_BYTES = 1024 * 1024
MAX_ITEMS = 1000
MAX_VALIDATION_TOKEN = 2048
MAX_ID = 1024

# Sends one notice; raises StorageUnavailable when the queue cannot be written.
NoticeSender = Callable[[GraphNotice], None]


@dataclass(frozen=True)
class IntakeResult:
    accepted: int
    dropped: int


class EmptyValidationToken(ValidationFailed):
    pass


def validation_token(params: Mapping[str, str]) -> str | None:
    """The handshake's (already URL-decoded) token; None when this is not a handshake.
    An empty or oversized token is a bad request."""
    if "validationToken" not in params:
        return None
    token = params["validationToken"]
    if not token or len(token) > MAX_VALIDATION_TOKEN or text_fault(token) is not None:
        raise EmptyValidationToken(
            "validationToken must be 1-2048 printable characters.",
            [FieldError("validationToken", "empty, too long or not printable")],
        )
    return token


def _send_to_queue(notice: GraphNotice) -> None:
    storage_account().queues.send(GRAPH_NOTIFICATIONS_QUEUE, notice.to_json())


def _items(body: bytes) -> list[Any]:
    data = parse_json_object(body, MAX_BODY_BYTES, what="notification body")
    value = data.get("value")
    if not isinstance(value, list) or len(value) > MAX_ITEMS:
        raise ValidationFailed(
            "The notification body has no `value` list.",
            [FieldError("value", f"a list of at most {MAX_ITEMS}")],
        )
    return value


def _short_text(item: Mapping[str, Any], name: str) -> str | None:
    value = item.get(name)
    return value if isinstance(value, str) and 0 < len(value) <= MAX_ID else None


def _notice(item: Any, key: bytes | None, expected: NoticeKind) -> GraphNotice | None:
    if not isinstance(item, dict):
        return None
    claims = verify_client_state(item.get("clientState"), key)
    subscription_id = _short_text(item, "subscriptionId")
    if claims is None or subscription_id is None:
        return None
    lifecycle = _short_text(item, "lifecycleEvent")
    if lifecycle is not None:
        if lifecycle not in {e.value for e in LifecycleEvent}:
            return None
        return GraphNotice(
            NoticeKind.LIFECYCLE,
            subscription_id,
            claims.connection_id,
            claims.calendar_digest,
            lifecycle_event=lifecycle,
        )
    if expected is NoticeKind.LIFECYCLE:
        return None
    resource_data = item.get("resourceData")
    event_id = _short_text(resource_data, "id") if isinstance(resource_data, dict) else None
    return GraphNotice(
        NoticeKind.CHANGE,
        subscription_id,
        claims.connection_id,
        claims.calendar_digest,
        change_type=_short_text(item, "changeType"),
        event_id=event_id,
    )


def accept_push(
    subscription_id: str,
    client_state: str | None,
    change_type: str,
    *,
    send: NoticeSender | None = None,
    key: bytes | None = None,
) -> bool:
    """One push of a service that notifies by channel (Google: no body, the channel's token
    carrying our clientState): verified like a Graph item and enqueued as a change notice. False
    when it does not verify (dropped, logged without its token). Raises `StorageUnavailable`."""
    key = key if key is not None else get_settings().sync.client_state_key
    claims = verify_client_state(client_state, key)
    if claims is None or len(subscription_id) > MAX_ID:
        log.warning("push_notification_dropped: unverified channel token")
        return False
    notice = GraphNotice(
        NoticeKind.CHANGE,
        subscription_id,
        claims.connection_id,
        claims.calendar_digest,
        change_type=change_type,
    )
    (send or _send_to_queue)(notice)
    return True


def accept_notifications(
    body: bytes, expected: NoticeKind, *, send: NoticeSender | None = None, key: bytes | None = None
) -> IntakeResult:
    """Verify and enqueue each item of a notification POST. Raises `ValidationFailed` for a body
    that is not a notification collection and `StorageUnavailable` when enqueueing fails."""
    items = _items(body)
    key = key if key is not None else get_settings().sync.client_state_key
    if key is None:
        log.error("SLOTBRIDGE_CLIENT_STATE_KEY is not set: every notification is dropped")
    send = send or _send_to_queue
    accepted = dropped = 0
    for item in items:
        notice = _notice(item, key, expected)
        if notice is None:
            dropped += 1
            continue
        send(notice)
        accepted += 1
    if dropped:
        log.warning(
            "graph_notification_dropped kind=%s dropped=%d accepted=%d", expected.value, dropped, accepted
        )
    return IntakeResult(accepted, dropped)
