"""Admin API under /_admin for tests and the demo: seed users and calendars, act as the user in
Google Calendar (changes push), share calendars with a role, break grants, expire sync tokens and
channels, inject faults, read what was sent and the request log. Not part of Google's surface; no
authentication (loopback only)."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

from werkzeug.wrappers import Response

from .channels import notify
from .config import OAuthClient
from .events import change_event, create_event, remove_event
from .state import ACCESS_ROLES, Calendar, Event, User, new_token
from .web import Ctx, GoogleError, json_response, no_content, route

A = "/_admin"
USER_SWITCHES = ("name", "time_zone", "grantable_scopes", "declines_consent")
SETTINGS = (
    "access_token_lifetime",
    "refresh_token_limit",
    "max_page_size",
    "empty_pages",
    "conference_pending_reads",
    "conference_failure",
    "channel_default_ttl",
    "channel_max_ttl",
    "notification_retry_delays",
    "notification_timeout",
    "notification_max_age",
)
REVOKE_REASONS = ("revoked", "expired", "invalid")


def _user(ctx: Ctx, key: str) -> User:
    user = ctx.app.state.find_user(key)
    if user is None:
        raise GoogleError(404, "notFound", f"No user '{key}'.")
    return user


def _calendar(ctx: Ctx, cid: str) -> Calendar:
    cal = ctx.app.state.calendars.get(cid)
    if cal is None or cal.deleted:
        raise GoogleError(404, "notFound", f"No calendar '{cid}'.")
    return cal


def _event(ctx: Ctx, cal: Calendar, event_id: str) -> Event:
    ev = ctx.app.state.events.get((cal.id, event_id))
    if ev is None:
        raise GoogleError(404, "notFound", f"No event '{event_id}' in '{cal.id}'.")
    return ev


def _role(value: Any) -> Any:
    if value not in ACCESS_ROLES:
        raise GoogleError(400, "invalid", f"role must be one of {', '.join(ACCESS_ROLES)}.")
    return value


def user_json(ctx: Ctx, u: User) -> dict[str, Any]:
    return {**asdict(u), "primary_calendar_id": u.email.lower()}


def calendar_json(cal: Calendar) -> dict[str, Any]:
    return asdict(cal)


@route(f"{A}/reset", ["POST"])
def reset(ctx: Ctx) -> Response:
    ctx.app.reset()
    return no_content()


@route(f"{A}/settings", ["GET", "PATCH"])
def settings(ctx: Ctx) -> Response:
    cfg = ctx.app.config
    if ctx.request.method == "PATCH":
        for k, v in ctx.json_body().items():
            if k not in SETTINGS:
                raise GoogleError(400, "invalid", f"Unknown setting '{k}'.")
            setattr(cfg, k, tuple(v) if k == "notification_retry_delays" else v)
    return json_response({k: getattr(cfg, k) for k in SETTINGS})


@route(f"{A}/clients", ["POST"])
def register_client(ctx: Ctx) -> Response:
    b = ctx.json_body()
    client = OAuthClient(b["client_id"], b["client_secret"], list(b.get("redirect_uris") or []))
    with ctx.app.state.lock:
        ctx.app.state.clients[client.client_id] = client
    return json_response(asdict(client), 201)


@route(f"{A}/users", ["GET", "POST"])
def users(ctx: Ctx) -> Response:
    state = ctx.app.state
    if ctx.request.method == "GET":
        with state.lock:
            return json_response([user_json(ctx, u) for u in state.users.values()])
    b = ctx.json_body()
    email = str(b.get("email") or "")
    if "@" not in email:
        raise GoogleError(400, "invalid", "A user needs an email.")
    with state.lock:
        if state.user_by_email(email) is not None:
            raise GoogleError(409, "duplicate", f"User {email} exists.")
        user = User(state.new_sub(), email, b.get("name") or email.split("@")[0].title())
        for k in USER_SWITCHES:
            if b.get(k) is not None:
                setattr(user, k, b[k])
        state.users[user.sub] = user
        # The primary calendar's id is the user's address, as in Google Calendar.
        cid = email.lower()
        state.calendars[cid] = Calendar(cid, email, user.time_zone, email, {email.lower(): "owner"})
        return json_response(user_json(ctx, user), 201)


@route(f"{A}/users/<key>", ["PATCH"])
def update_user(ctx: Ctx, key: str) -> Response:
    with ctx.app.state.lock:
        user = _user(ctx, key)
        for k, v in ctx.json_body().items():
            if k not in USER_SWITCHES:
                raise GoogleError(400, "invalid", f"Unknown user switch '{k}'.")
            setattr(user, k, v)
        return json_response(user_json(ctx, user))


@route(f"{A}/users/<key>/calendars", ["POST"])
def add_calendar(ctx: Ctx, key: str) -> Response:
    """A calendar in this user's calendarList with `access_role`; not owner: someone else's
    calendar (`owner_email`) shared with them."""
    b = ctx.json_body()
    state = ctx.app.state
    with state.lock:
        user = _user(ctx, key)
        role = _role(b.get("access_role", "owner"))
        owner = b.get("owner_email") or (
            user.email if role == "owner" else f"owner-{new_token('', 4)}@example.com"
        )
        cid = (
            b.get("id")
            or f"{new_token('', 18).lower().replace('-', 'x').replace('_', 'y')}@group.calendar.google.com"
        )
        if cid in state.calendars:
            raise GoogleError(409, "duplicate", f"Calendar {cid} exists.")
        acl = {user.email.lower(): role}
        if owner.lower() != user.email.lower():
            acl[owner.lower()] = "owner"
        cal = Calendar(cid, b.get("summary") or "Calendar", b.get("time_zone") or user.time_zone, owner, acl)
        state.calendars[cid] = cal
        return json_response(calendar_json(cal), 201)


@route(f"{A}/calendars/<cid>", ["PATCH", "DELETE"])
def calendar(ctx: Ctx, cid: str) -> Response:
    state = ctx.app.state
    with state.lock:
        cal = _calendar(ctx, cid)
        if ctx.request.method == "DELETE":
            cal.deleted = True
        else:
            for k, v in ctx.json_body().items():
                if k not in ("freebusy_error", "summary"):
                    raise GoogleError(400, "invalid", f"Unknown calendar field '{k}'.")
                setattr(cal, k, v)
    if ctx.request.method == "DELETE":
        notify(ctx.app, cal.id, "not_exists")
        return no_content()
    return json_response(calendar_json(cal))


@route(f"{A}/calendars/<cid>/share", ["POST"])
def share(ctx: Ctx, cid: str) -> Response:
    b = ctx.json_body()
    with ctx.app.state.lock:
        cal = _calendar(ctx, cid)
        email = str(b.get("email") or "").lower()
        if b.get("role") is None:
            cal.acl.pop(email, None)
        else:
            cal.acl[email] = _role(b["role"])
        return json_response(calendar_json(cal))


@route(f"{A}/calendars/<cid>/invalidate-sync-tokens", ["POST"])
def invalidate_sync(ctx: Ctx, cid: str) -> Response:
    with ctx.app.state.lock:
        _calendar(ctx, cid).sync_generation += 1
    return no_content()


@route(f"{A}/calendars/<cid>/events", ["GET", "POST"])
def events(ctx: Ctx, cid: str) -> Response:
    state = ctx.app.state
    with state.lock:
        cal = _calendar(ctx, cid)
        if ctx.request.method == "GET":
            return json_response([{**e.data, "_deleted": e.deleted} for e in state.events_of(cal.id)])
    ev = create_event(ctx, cal, ctx.json_body(), cal.owner_email)
    with state.lock:
        return json_response(dict(ev.data), 201)


@route(f"{A}/calendars/<cid>/events/<event_id>", ["PATCH", "DELETE"])
def event(ctx: Ctx, cid: str, event_id: str) -> Response:
    state = ctx.app.state
    with state.lock:
        cal = _calendar(ctx, cid)
        ev = _event(ctx, cal, event_id)
    if ctx.request.method == "DELETE":
        remove_event(ctx, cal, ev, None)
        return no_content()
    change_event(ctx, cal, ev, ctx.json_body(), replace=False)
    with state.lock:
        return json_response(dict(ev.data))


@route(f"{A}/users/<key>/revoke", ["POST"])
def revoke(ctx: Ctx, key: str) -> Response:
    """As if the user removed the app's access (revoked), a testing app's 7-day refresh token ran
    out (expired), or the token was otherwise invalid: refreshes answer invalid_grant."""
    reason = ctx.json_body().get("reason", "revoked")
    if reason not in REVOKE_REASONS:
        raise GoogleError(400, "invalid", f"reason must be one of {', '.join(REVOKE_REASONS)}.")
    with ctx.app.state.lock:
        user = _user(ctx, key)
        n = 0
        for g in ctx.app.state.grants.values():
            if g.sub == user.sub and g.status == "active":
                g.status = reason
                n += 1
    return json_response({"grants": n})


@route(f"{A}/users/<key>/expire-tokens", ["POST"])
def expire_tokens(ctx: Ctx, key: str) -> Response:
    with ctx.app.state.lock:
        user = _user(ctx, key)
        n = 0
        for t in ctx.app.state.access_tokens.values():
            if t.sub == user.sub and t.expires_at > time.time():
                t.expires_at = time.time() - 1
                n += 1
    return json_response({"tokens": n})


@route(f"{A}/grants", ["GET"])
def grants(ctx: Ctx) -> Response:
    state = ctx.app.state
    with state.lock:
        return json_response(
            [
                {
                    **asdict(g),
                    "email": state.users[g.sub].email if g.sub in state.users else None,
                    "refresh_tokens": sum(
                        1 for r in state.refresh_tokens.values() if r.grant_id == g.id and r.valid
                    ),
                }
                for g in state.grants.values()
            ]
        )


@route(f"{A}/channels", ["GET"])
def channels(ctx: Ctx) -> Response:
    with ctx.app.state.lock:
        return json_response([{**asdict(c), "active": c.active()} for c in ctx.app.state.channels.values()])


@route(f"{A}/channels/<channel_id>/expire", ["POST"])
def expire_channel(ctx: Ctx, channel_id: str) -> Response:
    with ctx.app.state.lock:
        found = [c for c in ctx.app.state.channels.values() if c.id == channel_id]
        if not found:
            raise GoogleError(404, "notFound", f"No channel '{channel_id}'.")
        for c in found:
            c.expiration_ms = int(time.time() * 1000) - 1
    return no_content()


@route(f"{A}/notifications", ["GET"])
def notifications(ctx: Ctx) -> Response:
    return json_response(ctx.app.notifier.deliveries())


@route(f"{A}/notifications/drop", ["POST"])
def drop(ctx: Ctx) -> Response:
    ctx.app.notifier.drop_next(int(ctx.json_body().get("count", 1)))
    return no_content()


@route(f"{A}/mail", ["GET"])
def mail(ctx: Ctx) -> Response:
    with ctx.app.state.lock:
        return json_response(list(ctx.app.state.mail))


@route(f"{A}/faults", ["GET", "POST", "DELETE"])
def faults(ctx: Ctx) -> Response:
    if ctx.request.method == "POST":
        try:
            return json_response(ctx.app.faults.add(**ctx.json_body()).to_json(), 201)
        except (ValueError, TypeError) as e:
            raise GoogleError(400, "invalid", str(e)) from None
    if ctx.request.method == "DELETE":
        ctx.app.faults.clear()
        return no_content()
    return json_response(ctx.app.faults.list())


@route(f"{A}/requests", ["GET", "DELETE"])
def requests_log(ctx: Ctx) -> Response:
    if ctx.request.method == "DELETE":
        ctx.app.log.clear()
        return no_content()
    return json_response(ctx.app.log.snapshot())
