"""Push notifications: events.watch opens a channel on a calendar's events, channels.stop closes
it, and every change to the calendar's events POSTs a message with no body to the channel's
address (headers X-Goog-Channel-ID, -Token, -Expiration, X-Goog-Resource-ID, -URI, -State,
X-Goog-Message-Number). The first message of a channel has state `sync`; changes are `exists`; a
deleted calendar sends `not_exists` and ends its channels."""

from __future__ import annotations

import re
import secrets
import time
from email.utils import formatdate
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

from werkzeug.wrappers import Response

from devstack.sandbox.identity import LOOPBACK_HOSTS

from .calendar_list import ANY_CALENDAR_SCOPE, READ_SCOPES, resolve
from .config import PROJECT_NUMBER
from .state import Channel
from .web import Ctx, GoogleError, json_response, no_content, route

if TYPE_CHECKING:
    from .app import GoogleApp

_CHANNEL_ID = re.compile(r"^[A-Za-z0-9\-_+/=]{1,64}$")


def _headers(app: GoogleApp, ch: Channel, resource_state: str) -> dict[str, str]:
    ch.message_number += 1
    headers = {
        "X-Goog-Channel-ID": ch.id,
        "X-Goog-Channel-Expiration": formatdate(ch.expiration_ms / 1000, usegmt=True),
        "X-Goog-Resource-ID": ch.resource_id,
        "X-Goog-Resource-URI": ch.resource_uri,
        "X-Goog-Resource-State": resource_state,
        "X-Goog-Message-Number": str(ch.message_number),
    }
    if ch.token is not None:
        headers["X-Goog-Channel-Token"] = ch.token
    return headers


def notify(app: GoogleApp, calendar_id: str, resource_state: str = "exists") -> int:
    """Send `resource_state` on every live channel watching this calendar; the number sent."""
    sent = 0
    with app.state.lock:
        live = [c for c in app.state.channels.values() if c.calendar_id == calendar_id and c.active()]
        messages = [(c.address, _headers(app, c, resource_state)) for c in live]
        if resource_state == "not_exists":
            for c in live:
                c.stopped = True
    for address, headers in messages:
        app.notifier.enqueue(address, None, resource_state, headers, droppable=resource_state != "sync")
        sent += 1
    return sent


@route("/calendar/v3/calendars/<calendar_id>/events/watch", ["POST"], auth="bearer", scopes=READ_SCOPES)
def watch(ctx: Ctx, calendar_id: str) -> Response:
    access = resolve(ctx, calendar_id)
    body = ctx.json_body()
    cfg, state = ctx.app.config, ctx.app.state
    channel_id = body.get("id")
    if not isinstance(channel_id, str) or not channel_id:
        raise GoogleError(400, "required", "Required", location=("parameter", "id"))
    if not _CHANNEL_ID.match(channel_id):
        raise GoogleError(400, "invalid", f"Invalid channel id: {channel_id}")
    if body.get("type") not in ("web_hook", "webhook"):
        raise GoogleError(400, "invalid", f"Invalid channel type: {body.get('type')}")
    address = body.get("address")
    if not isinstance(address, str) or not address:
        raise GoogleError(400, "required", "Required", location=("parameter", "address"))
    parts = urlsplit(address)
    loopback = (parts.hostname or "") in LOOPBACK_HOSTS
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise GoogleError(400, "push.webhookUrlNotHttps", f"WebHook callback must be HTTPS: {address}")
    if not loopback:
        # The stand-in never calls out of the machine.
        raise GoogleError(
            400, "push.webhookUrlUnauthorized", f"Unauthorized WebHook callback channel: {address}"
        )
    now_ms = int(time.time() * 1000)
    try:
        asked = int(body["expiration"]) if body.get("expiration") is not None else None
    except (TypeError, ValueError):
        raise GoogleError(400, "invalid", "Invalid value for: expiration") from None
    longest = now_ms + cfg.channel_max_ttl * 1000
    expiration = min(asked, longest) if asked is not None else now_ms + cfg.channel_default_ttl * 1000
    if expiration <= now_ms:
        raise GoogleError(400, "invalid", "Invalid value for: expiration")
    token = body.get("token")
    if token is not None and (not isinstance(token, str) or len(token) > 256):
        raise GoogleError(400, "invalid", "Invalid value for: token")
    assert ctx.token is not None
    calendar_path = quote(access.calendar.id, safe="@")
    with state.lock:
        if any(c.id == channel_id and c.client_id == ctx.token.client_id for c in state.channels.values()):
            raise GoogleError(400, "channelIdNotUnique", f"Channel id {channel_id} not unique")
        ch = Channel(
            id=channel_id,
            resource_id=secrets.token_urlsafe(20),
            resource_uri=f"{ctx.base_url}/calendar/v3/calendars/{calendar_path}/events?alt=json",
            calendar_id=access.calendar.id,
            client_id=ctx.token.client_id,
            sub=ctx.token.sub,
            address=address,
            token=token,
            expiration_ms=expiration,
        )
        state.channels[f"{ch.client_id} {ch.id}"] = ch
        sync_headers = _headers(ctx.app, ch, "sync")
    ctx.app.notifier.enqueue(address, None, "sync", sync_headers, droppable=False)
    out = {
        "kind": "api#channel",
        "id": ch.id,
        "resourceId": ch.resource_id,
        "resourceUri": ch.resource_uri,
        "expiration": str(ch.expiration_ms),
    }
    if token is not None:
        out["token"] = token
    return json_response(out)


@route("/calendar/v3/channels/stop", ["POST"], auth="bearer", scopes=ANY_CALENDAR_SCOPE)
def stop(ctx: Ctx) -> Response:
    body = ctx.json_body()
    assert ctx.token is not None
    channel_id, resource_id = body.get("id"), body.get("resourceId")
    with ctx.app.state.lock:
        ch = ctx.app.state.channels.get(f"{ctx.token.client_id} {channel_id}")
        if ch is None or ch.stopped or ch.resource_id != resource_id:
            raise GoogleError(
                404, "notFound", f"Channel '{channel_id}' not found for project '{PROJECT_NUMBER}'"
            )
        ch.stopped = True
    return no_content()
