"""calendarView on the default calendar or a given one: a window's instances, series expanded."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from werkzeug.wrappers import Response

from . import events_model as em
from .graph_calendars import READ, get_calendar
from .graph_events import output_tz
from .odata import apply_select, next_link, query, select_fields, skip, top
from .state import Calendar, Event, State
from .timeutil import parse_query_datetime, resolve_tz
from .web import Ctx, GraphError, json_response, route

GRAPH = "/v1.0"
WINDOW_REQUIRED = (
    "This request requires a time window specified by the query string parameters "
    "StartDateTime and EndDateTime."
)


def window(ctx: Ctx) -> tuple[datetime, datetime]:
    raw_start = query(ctx.request.args, "startDateTime")
    raw_end = query(ctx.request.args, "endDateTime")
    if not raw_start or not raw_end:
        raise GraphError(400, "ErrorInvalidParameter", WINDOW_REQUIRED)
    try:
        start, end = parse_query_datetime(raw_start), parse_query_datetime(raw_end)
    except ValueError:
        raise GraphError(400, "ErrorInvalidParameter", WINDOW_REQUIRED) from None
    if end <= start:
        raise GraphError(
            400, "ErrorInvalidParameter", "The parameter 'EndDateTime' must be after 'StartDateTime'."
        )
    return start, end


def instances_in(
    state: State, cal: Calendar, start: datetime, end: datetime, out_tz: tzinfo
) -> list[tuple[Event, em.Instance]]:
    out: list[tuple[Event, em.Instance]] = []
    for ev in state.events.values():
        if ev.calendar_id == cal.id and not ev.deleted:
            out.extend((ev, inst) for inst in em.instances(ev, start, end, out_tz))
    out.sort(key=lambda pair: (pair[1].start, pair[1].id))
    return out


def _view(ctx: Ctx, calendar_id: str | None) -> Response:
    account = ctx.require_account()
    args = ctx.request.args
    start, end = window(ctx)
    if query(args, "filter"):
        raise GraphError(400, "BadRequest", "The sandbox does not support $filter on calendarView.")
    n, offset = top(args, 10, 1000), skip(args)
    tz_name = output_tz(ctx)
    tz = resolve_tz(tz_name)
    assert tz is not None
    fields = select_fields(args)
    with ctx.app.state.lock:
        cal = get_calendar(ctx, calendar_id)
        pairs = instances_in(ctx.app.state, cal, start, end, tz)
        page = [
            apply_select(em.render(ev, account, tz_name, inst), fields)
            for ev, inst in pairs[offset : offset + n]
        ]
    body: dict[str, Any] = {
        "@odata.context": f"{ctx.base_url}/v1.0/$metadata#users('{account.graph_id}')/calendarView",
        "value": page,
    }
    if offset + n < len(pairs):
        params = [(k, v) for k, v in args.items() if k.lower() not in ("$skip", "skip")]
        body["@odata.nextLink"] = next_link(
            ctx.base_url, ctx.request.path, [*params, ("$skip", str(offset + n))]
        )
    return json_response(body)


@route(f"{GRAPH}/me/calendarview", ["GET"], auth="graph", scopes=READ)
def view_default(ctx: Ctx) -> Response:
    return _view(ctx, None)


@route(f"{GRAPH}/me/calendar/calendarview", ["GET"], auth="graph", scopes=READ)
def view_default2(ctx: Ctx) -> Response:
    return _view(ctx, None)


@route(f"{GRAPH}/me/calendars/<calendar_id>/calendarview", ["GET"], auth="graph", scopes=READ)
def view_in(ctx: Ctx, calendar_id: str) -> Response:
    return _view(ctx, calendar_id)
