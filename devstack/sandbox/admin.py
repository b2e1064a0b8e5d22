"""Admin API under /_admin for tests and the demo: seed mailboxes, act as Outlook (changes notify),
break grants, drive subscriptions and notifications, inject faults, read back state and the
request log. Not part of Microsoft's surface; no authentication (the sandbox is loopback-only)."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

from werkzeug.wrappers import Response

from . import events_model as em
from .config import AppRegistration
from .graph_events import create_event, delete_event, update_event
from .identity import SIGN_IN_FAILURES
from .state import Account, Calendar, new_id
from .subscriptions import render as render_subscription
from .subscriptions import send_lifecycle
from .web import Ctx, GraphError, json_response, no_content, route

A = "/_admin"
SWITCHES = (
    "admin_approval_required",
    "conditional_access_blocked",
    "declines_consent",
    "grantable_scopes",
    "sign_in_failure",
    "time_zone",
    "display_name",
)
SETTINGS = (
    "mailbox_concurrency_enabled",
    "mailbox_concurrency_limit",
    "reject_rotated_refresh_tokens",
    "access_token_lifetime",
    "notification_retry_delays",
    "notification_timeout",
    "notification_max_age",
    "validation_timeout",
    "max_subscription_minutes",
)


def _account(ctx: Ctx, key: str) -> Account:
    account = ctx.app.state.find_account(key)
    if account is None:
        raise GraphError(404, "NotFound", f"No account '{key}'.")
    return account


def _set_switch(a: Account, name: str, value: Any) -> None:
    if name not in SWITCHES:
        raise GraphError(400, "BadRequest", f"Unknown account switch '{name}'.")
    if name == "sign_in_failure" and value is not None and value not in SIGN_IN_FAILURES:
        known = ", ".join(str(c) for c in sorted(SIGN_IN_FAILURES))
        raise GraphError(400, "BadRequest", f"sign_in_failure must be one of {known} (or null).")
    setattr(a, name, value)


def account_json(ctx: Ctx, a: Account) -> dict[str, Any]:
    cal = ctx.app.state.default_calendar(a.id)
    return {**asdict(a), "graph_id": a.graph_id, "default_calendar_id": cal.id if cal else None}


def calendar_json(c: Calendar) -> dict[str, Any]:
    return asdict(c)


def _admin_ctx(ctx: Ctx, account: Account) -> Ctx:
    ctx.account = account
    return ctx


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
                raise GraphError(400, "BadRequest", f"Unknown setting '{k}'.")
            setattr(cfg, k, tuple(v) if k == "notification_retry_delays" else v)
    return json_response({k: getattr(cfg, k) for k in SETTINGS})


@route(f"{A}/apps", ["POST"])
def register_app(ctx: Ctx) -> Response:
    b = ctx.json_body()
    app = AppRegistration(
        b["client_id"],
        b["client_secret"],
        list(b.get("redirect_uris") or []),
        b.get("display_name", "Slotbridge (sandbox)"),
    )
    with ctx.app.state.lock:
        ctx.app.state.apps[app.client_id] = app
    return json_response(asdict(app), 201)


@route(f"{A}/accounts", ["GET"])
def list_accounts(ctx: Ctx) -> Response:
    with ctx.app.state.lock:
        return json_response([account_json(ctx, a) for a in ctx.app.state.accounts.values()])


@route(f"{A}/accounts", ["POST"])
def add_account(ctx: Ctx) -> Response:
    b = ctx.json_body()
    kind = b.get("kind", "work")
    if kind not in ("work", "personal") or not b.get("email"):
        raise GraphError(400, "BadRequest", "An account needs an email and kind work|personal.")
    state = ctx.app.state
    with state.lock:
        if state.account_by_email(b["email"]) is not None:
            raise GraphError(409, "Conflict", f"Account {b['email']} exists.")
        a = Account(
            id=Account.make_oid(kind),
            email=b["email"],
            display_name=b.get("display_name") or b["email"].split("@")[0].title(),
            kind=kind,
            tenant_id=b.get("tenant_id") or state.tenant_of_kind(kind),
            time_zone=b.get("time_zone", "Pacific Standard Time"),
        )
        for k in SWITCHES:
            if b.get(k) is not None:
                _set_switch(a, k, b[k])
        state.accounts[a.id] = a
        cal = Calendar(new_id("cal"), a.id, "Calendar", True, True, a.display_name, a.email)
        state.calendars[cal.id] = cal
        return json_response(account_json(ctx, a), 201)


@route(f"{A}/accounts/<key>", ["PATCH"])
def update_account(ctx: Ctx, key: str) -> Response:
    with ctx.app.state.lock:
        a = _account(ctx, key)
        for k, v in ctx.json_body().items():
            _set_switch(a, k, v)
        return json_response(account_json(ctx, a))


@route(f"{A}/admin-consents", ["GET"])
def admin_consents(ctx: Ctx) -> Response:
    with ctx.app.state.lock:
        return json_response(
            [
                {"tenant_id": tenant, "client_id": client, "scopes": scopes}
                for (tenant, client), scopes in ctx.app.state.admin_consents.items()
            ]
        )


@route(f"{A}/accounts/<key>/calendars", ["POST"])
def add_calendar(ctx: Ctx, key: str) -> Response:
    b = ctx.json_body()
    with ctx.app.state.lock:
        a = _account(ctx, key)
        cal = Calendar(
            new_id("cal"),
            a.id,
            b.get("name", "Calendar"),
            bool(b.get("can_edit", True)),
            False,
            b.get("owner_name") or a.display_name,
            b.get("owner_address") or a.email,
            b.get("color", "auto"),
            b.get("hex_color", ""),
        )
        ctx.app.state.calendars[cal.id] = cal
        return json_response(calendar_json(cal), 201)


@route(f"{A}/accounts/<key>/calendars/<cal_id>", ["DELETE"])
def remove_calendar(ctx: Ctx, key: str, cal_id: str) -> Response:
    """As if deleted in Outlook (or unshared): the calendar and its events go, its subscriptions
    are removed with `subscriptionRemoved`, and its Graph routes answer 404 ErrorItemNotFound."""
    state = ctx.app.state
    with state.lock:
        a = _account(ctx, key)
        cal = state.calendars.get(cal_id.lower())
        if cal is None or cal.account_id != a.id:
            raise GraphError(404, "NotFound", f"No calendar '{cal_id}' for {a.email}.")
        if cal.is_default:
            raise GraphError(400, "ErrorInvalidRequest", "The default calendar cannot be deleted.")
        del state.calendars[cal.id]
        for ev in state.events.values():
            if ev.calendar_id == cal.id and not ev.deleted:
                ev.deleted = True
                em.touch(state, ev)
        removed = [s.id for s in state.subscriptions.values() if s.calendar_id == cal.id]
    for sub_id in removed:
        send_lifecycle(ctx.app, sub_id, "subscriptionRemoved")
    return no_content()


@route(f"{A}/accounts/<key>/events", ["POST"])
def add_event(ctx: Ctx, key: str) -> Response:
    b = ctx.json_body()
    with ctx.app.state.lock:
        a = _account(ctx, key)
        cal_id = b.pop("calendarId", None)
        cal = ctx.app.state.calendars.get(cal_id) if cal_id else ctx.app.state.default_calendar(a.id)
        if cal is None or cal.account_id != a.id:
            raise GraphError(404, "NotFound", f"No calendar '{cal_id}' for {a.email}.")
    ev, _ = create_event(_admin_ctx(ctx, a), a, cal, b, as_owner=True)
    with ctx.app.state.lock:
        return json_response(em.render(ev, a, "UTC", None, (True, None)), 201)


def _event(ctx: Ctx, a: Account, event_id: str) -> tuple[Any, Any]:
    with ctx.app.state.lock:
        return em.lookup(ctx.app.state, a, event_id)


@route(f"{A}/accounts/<key>/events/<event_id>", ["PATCH"])
def change_event(ctx: Ctx, key: str, event_id: str) -> Response:
    a = _account(ctx, key)
    ev, inst = _event(ctx, a, event_id)
    if inst is not None:
        raise GraphError(400, "BadRequest", "Change the series, not an occurrence.")
    update_event(_admin_ctx(ctx, a), a, ev, ctx.json_body(), as_owner=True)
    with ctx.app.state.lock:
        return json_response(em.render(ev, a, "UTC", None, (True, None)))


@route(f"{A}/accounts/<key>/events/<event_id>", ["DELETE"])
def remove_event(ctx: Ctx, key: str, event_id: str) -> Response:
    a = _account(ctx, key)
    ev, inst = _event(ctx, a, event_id)
    delete_event(_admin_ctx(ctx, a), ev, inst, as_owner=True)
    return no_content()


@route(f"{A}/accounts/<key>/mailbox", ["GET"])
def mailbox(ctx: Ctx, key: str) -> Response:
    with ctx.app.state.lock:
        a = _account(ctx, key)
        cals = ctx.app.state.calendars_of(a.id)
        return json_response(
            {
                "account": account_json(ctx, a),
                "calendars": [
                    {
                        **calendar_json(c),
                        "events": [
                            em.render(e, a, "UTC", None, (True, None))
                            for e in ctx.app.state.events.values()
                            if e.calendar_id == c.id and not e.deleted
                        ],
                    }
                    for c in cals
                ],
            }
        )


@route(f"{A}/accounts/<key>/revoke-grants", ["POST"])
def revoke_grants(ctx: Ctx, key: str) -> Response:
    reason = (ctx.json_body() if ctx.request.get_data() else {}).get("reason", "revoked")
    if reason not in ("revoked", "expired", "invalid"):
        raise GraphError(400, "BadRequest", "reason must be revoked, expired or invalid.")
    with ctx.app.state.lock:
        a = _account(ctx, key)
        n = 0
        for g in ctx.app.state.grants.values():
            if g.account_id == a.id and g.status == "active":
                g.status = reason
                n += 1
    return json_response({"grants": n})


@route(f"{A}/accounts/<key>/expire-tokens", ["POST"])
def expire_tokens(ctx: Ctx, key: str) -> Response:
    with ctx.app.state.lock:
        a = _account(ctx, key)
        n = 0
        for t in ctx.app.state.access_tokens.values():
            if t.account_id == a.id:
                t.expires_at = time.time() - 1
                n += 1
    return json_response({"tokens": n})


@route(f"{A}/accounts/<key>/invalidate-delta", ["POST"])
def invalidate_delta(ctx: Ctx, key: str) -> Response:
    with ctx.app.state.lock:
        a = _account(ctx, key)
        a.delta_generation += 1
    return no_content()


@route(f"{A}/subscriptions", ["GET"])
def subscriptions(ctx: Ctx) -> Response:
    with ctx.app.state.lock:
        return json_response(
            [
                {**render_subscription(ctx, s), "account": ctx.app.state.accounts[s.account_id].email}
                for s in ctx.app.state.subscriptions.values()
            ]
        )


@route(f"{A}/subscriptions/<sub_id>", ["DELETE"])
def remove_subscription(ctx: Ctx, sub_id: str) -> Response:
    if not send_lifecycle(ctx.app, sub_id, "subscriptionRemoved"):
        raise GraphError(404, "NotFound", f"No subscription '{sub_id}'.")
    return no_content()


@route(f"{A}/subscriptions/<sub_id>/lifecycle", ["POST"])
def lifecycle(ctx: Ctx, sub_id: str) -> Response:
    event = ctx.json_body().get("event")
    if event not in ("reauthorizationRequired", "subscriptionRemoved", "missed"):
        raise GraphError(
            400, "BadRequest", "event must be reauthorizationRequired, subscriptionRemoved or missed."
        )
    if not send_lifecycle(ctx.app, sub_id, event):
        raise GraphError(404, "NotFound", f"No subscription '{sub_id}'.")
    return no_content(202)


@route(f"{A}/notifications", ["GET"])
def notifications(ctx: Ctx) -> Response:
    return json_response(ctx.app.notifier.deliveries())


@route(f"{A}/notifications/drop", ["POST"])
def drop(ctx: Ctx) -> Response:
    ctx.app.notifier.drop_next(int(ctx.json_body().get("count", 1)))
    return no_content()


@route(f"{A}/faults", ["GET", "POST", "DELETE"])
def faults(ctx: Ctx) -> Response:
    if ctx.request.method == "POST":
        try:
            return json_response(ctx.app.faults.add(**ctx.json_body()).to_json(), 201)
        except (ValueError, TypeError) as e:
            raise GraphError(400, "BadRequest", str(e)) from None
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
