"""Events: list/create on a calendar, get/patch/delete by id, and the cancel action. The create,
update and delete helpers are shared with the admin API so that Outlook-side changes notify too."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from . import events_model as em
from .graph_calendars import READ, get_calendar
from .odata import (
    apply_select,
    next_link,
    parse_expand,
    parse_filter,
    prefer_timezone,
    query,
    select_fields,
    skip,
    top,
)
from .state import Account, Calendar, Event
from .subscriptions import notify_change
from .web import Ctx, GraphError, json_response, no_content, route

GRAPH = "/v1.0"
WRITE = ["Calendars.ReadWrite", "Calendars.ReadWrite.Shared"]
ACCESS_DENIED = ("ErrorAccessDenied", "Access is denied. Check credentials and try again.")


def output_tz(ctx: Ctx) -> str:
    """Prefer: outlook.timezone, else UTC (Graph's default for event times)."""
    tz = prefer_timezone(ctx.request.headers.get("Prefer"))
    if tz is not None:
        ctx.preference_applied.append(f'outlook.timezone="{tz}"')
        return tz
    return "UTC"


# --- mutations shared with the admin API ------------------------------------------------------


def create_event(
    ctx: Ctx, account: Account, cal: Calendar, body: dict[str, Any], *, as_owner: bool = False
) -> tuple[Event, bool]:
    """(event, created). A repeated transactionId returns the event created the first time."""
    state = ctx.app.state
    with state.lock:
        if not cal.can_edit and not as_owner:
            raise GraphError(403, *ACCESS_DENIED)
        txn = body.get("transactionId")
        if txn:
            for ev in state.events.values():
                if ev.account_id == account.id and not ev.deleted and ev.transaction_id == txn:
                    return ev, False
        ev = em.new_event(state, account, cal, body)
        em.touch(state, ev)
        ev.created = ev.last_modified
        state.events[ev.id] = ev
        notify_change(ctx.app, ev, "created")
    return ev, True


def update_event(
    ctx: Ctx, account: Account, ev: Event, body: dict[str, Any], *, as_owner: bool = False
) -> Event:
    state = ctx.app.state
    with state.lock:
        cal = state.calendars[ev.calendar_id]
        if not cal.can_edit and not as_owner:
            raise GraphError(403, *ACCESS_DENIED)
        em.apply_fields(ev, {k: v for k, v in body.items() if k in em.EDITABLE}, account)
        em.touch(state, ev)
        notify_change(ctx.app, ev, "updated")
    return ev


def delete_event(ctx: Ctx, ev: Event, inst: em.Instance | None = None, *, as_owner: bool = False) -> None:
    state = ctx.app.state
    with state.lock:
        cal = state.calendars[ev.calendar_id]
        if not cal.can_edit and not as_owner:
            raise GraphError(403, *ACCESS_DENIED)
        if inst is not None and inst.local_date is not None:
            ev.excluded_dates.add(inst.local_date)
            em.touch(state, ev)
            notify_change(ctx.app, ev, "updated")
            return
        ev.deleted = True
        em.touch(state, ev)
        notify_change(ctx.app, ev, "deleted")


# --- handlers ----------------------------------------------------------------------------------


def _list(ctx: Ctx, cal: Calendar, path: str) -> Response:
    account = ctx.require_account()
    args = ctx.request.args
    flt = parse_filter(query(args, "filter"))
    expand = parse_expand(query(args, "expand"))
    n, offset = top(args, 10, 1000), skip(args)
    tz = output_tz(ctx)
    with ctx.app.state.lock:
        evs = [e for e in ctx.app.state.events.values() if e.calendar_id == cal.id and not e.deleted]
        if flt is not None and flt[0] == "transactionId":
            evs = [e for e in evs if e.transaction_id == flt[1]]
        elif flt is not None:
            pid, pval = flt[1]
            evs = [
                e
                for e in evs
                if any(k.lower() == pid.lower() and v == pval for k, v in e.extended_properties.items())
            ]
        fields = select_fields(args)
        page = [
            apply_select(em.render(e, account, tz, None, expand), fields, expand[0])
            for e in evs[offset : offset + n]
        ]
    body: dict[str, Any] = {
        "@odata.context": f"{ctx.base_url}/v1.0/$metadata#users('{account.graph_id}')/events",
        "value": page,
    }
    if offset + n < len(evs):
        params = [(k, v) for k, v in args.items() if k.lower() not in ("$skip", "skip")]
        body["@odata.nextLink"] = next_link(ctx.base_url, path, [*params, ("$skip", str(offset + n))])
    return json_response(body)


def _create(ctx: Ctx, cal: Calendar) -> Response:
    account = ctx.require_account()
    body = ctx.json_body()
    ev, _ = create_event(ctx, account, cal, body)
    tz = output_tz(ctx)
    with ctx.app.state.lock:
        out = em.render(ev, account, tz, None, (True, None))
    out["@odata.context"] = f"{ctx.base_url}/v1.0/$metadata#users('{account.graph_id}')/events/$entity"
    return json_response(out, 201, {"Location": f"{ctx.base_url}/v1.0/me/events/{ev.id}"})


@route(f"{GRAPH}/me/events", ["GET"], auth="graph", scopes=READ)
def list_default(ctx: Ctx) -> Response:
    return _list(ctx, get_calendar(ctx, None), "/v1.0/me/events")


@route(f"{GRAPH}/me/calendar/events", ["GET"], auth="graph", scopes=READ)
def list_default2(ctx: Ctx) -> Response:
    return _list(ctx, get_calendar(ctx, None), "/v1.0/me/calendar/events")


@route(f"{GRAPH}/me/calendars/<calendar_id>/events", ["GET"], auth="graph", scopes=READ)
def list_in(ctx: Ctx, calendar_id: str) -> Response:
    return _list(ctx, get_calendar(ctx, calendar_id), f"/v1.0/me/calendars/{calendar_id}/events")


@route(f"{GRAPH}/me/events", ["POST"], auth="graph", scopes=WRITE)
def create_default(ctx: Ctx) -> Response:
    return _create(ctx, get_calendar(ctx, None))


@route(f"{GRAPH}/me/calendar/events", ["POST"], auth="graph", scopes=WRITE)
def create_default2(ctx: Ctx) -> Response:
    return _create(ctx, get_calendar(ctx, None))


@route(f"{GRAPH}/me/calendars/<calendar_id>/events", ["POST"], auth="graph", scopes=WRITE)
def create_in(ctx: Ctx, calendar_id: str) -> Response:
    return _create(ctx, get_calendar(ctx, calendar_id))


def _resolve(ctx: Ctx, event_id: str, calendar_id: str | None) -> tuple[Account, Event, em.Instance | None]:
    account = ctx.require_account()
    with ctx.app.state.lock:
        ev, inst = em.lookup(ctx.app.state, account, event_id)
        if calendar_id is not None and ev.calendar_id != get_calendar(ctx, calendar_id).id:
            raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")
    return account, ev, inst


def _get(ctx: Ctx, event_id: str, calendar_id: str | None) -> Response:
    account, ev, inst = _resolve(ctx, event_id, calendar_id)
    expand = parse_expand(query(ctx.request.args, "expand"))
    tz = output_tz(ctx)
    with ctx.app.state.lock:
        out = em.render(ev, account, tz, inst, expand)
    out["@odata.context"] = f"{ctx.base_url}/v1.0/$metadata#users('{account.graph_id}')/events/$entity"
    return json_response(apply_select(out, select_fields(ctx.request.args), expand[0]))


def _patch(ctx: Ctx, event_id: str, calendar_id: str | None) -> Response:
    account, ev, inst = _resolve(ctx, event_id, calendar_id)
    if inst is not None:
        raise GraphError(
            400, "ErrorInvalidRequest", "The sandbox does not support editing a single occurrence."
        )
    update_event(ctx, account, ev, ctx.json_body())
    tz = output_tz(ctx)
    with ctx.app.state.lock:
        out = em.render(ev, account, tz, None, (True, None))
    return json_response(out)


def _delete(ctx: Ctx, event_id: str, calendar_id: str | None) -> Response:
    _, ev, inst = _resolve(ctx, event_id, calendar_id)
    delete_event(ctx, ev, inst)
    return no_content()


def _cancel(ctx: Ctx, event_id: str, calendar_id: str | None) -> Response:
    account, ev, inst = _resolve(ctx, event_id, calendar_id)
    if ev.organizer["emailAddress"]["address"].lower() != account.email.lower():
        raise GraphError(
            400,
            "ErrorInvalidRequest",
            "Your request can't be completed. You need to be an organizer to cancel a meeting.",
        )
    if ctx.request.get_data():
        ctx.json_body()  # {"Comment": "..."}: only checked to be JSON, no attendee mail exists here
    # The organizer's copy leaves the calendar; attendees would get a cancellation.
    delete_event(ctx, ev, inst)
    return no_content(202)


for _prefix, _cal in (
    ("/me/events", False),
    ("/me/calendar/events", False),
    ("/me/calendars/<calendar_id>/events", True),
):
    _base = f"{GRAPH}{_prefix}/<event_id>"

    def _mk(fn: Any, has_cal: bool) -> Any:
        if has_cal:
            return lambda ctx, calendar_id, event_id: fn(ctx, event_id, calendar_id)
        return lambda ctx, event_id: fn(ctx, event_id, None)

    route(_base, ["GET"], auth="graph", scopes=READ)(_mk(_get, _cal))
    route(_base, ["PATCH"], auth="graph", scopes=WRITE)(_mk(_patch, _cal))
    route(_base, ["DELETE"], auth="graph", scopes=WRITE)(_mk(_delete, _cal))
    route(f"{_base}/cancel", ["POST"], auth="graph", scopes=WRITE)(_mk(_cancel, _cal))
