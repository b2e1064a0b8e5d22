"""calendarView/delta: a first round of everything in the window, then rounds of what changed,
paged with $skiptoken and closed with a $deltatoken. Tokens carry the window and a watermark of
the sandbox's change counter; invalidating an account's tokens makes them answer 410."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from werkzeug.wrappers import Response

from . import events_model as em
from .calendar_view import instances_in, window
from .graph_calendars import READ, get_calendar
from .graph_events import output_tz
from .odata import next_link, prefer_page_size, query
from .state import Account, Calendar, Event
from .timeutil import resolve_tz
from .web import Ctx, GraphError, json_response, route

GRAPH = "/v1.0"
DEFAULT_PAGE = 10


def _encode(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode(token: str) -> dict[str, Any]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except ValueError:
        raise GraphError(400, "BadRequest", "The delta or skip token is malformed.") from None
    if not isinstance(data, dict):
        raise GraphError(400, "BadRequest", "The delta or skip token is malformed.")
    return data


def _removed(item_id: str) -> dict[str, Any]:
    return {"@odata.type": "#microsoft.graph.event", "id": item_id, "@removed": {"reason": "deleted"}}


def _changes(
    ctx: Ctx, account: Account, cal: Calendar, tok: dict[str, Any], tz_name: str
) -> list[dict[str, Any]]:
    start, end = datetime.fromisoformat(tok["s"]), datetime.fromisoformat(tok["e"])
    tz = resolve_tz(tz_name)
    assert tz is not None
    state = ctx.app.state
    if tok["from"] == 0:
        return [
            em.render(ev, account, tz_name, inst) for ev, inst in instances_in(state, cal, start, end, tz)
        ]
    changed: list[Event] = sorted(
        (e for e in state.events.values() if e.calendar_id == cal.id and tok["from"] < e.seq <= tok["to"]),
        key=lambda e: (e.seq, e.id),
    )
    items: list[dict[str, Any]] = []
    for ev in changed:
        insts = em.instances(ev, start, end, tz)
        if ev.deleted:
            items.extend(_removed(i.id) for i in insts)
            if ev.recurrence is None and not insts:
                items.append(_removed(ev.id))
            continue
        if not insts and ev.recurrence is None:
            items.append(_removed(ev.id))  # moved out of the window
        items.extend(em.render(ev, account, tz_name, inst) for inst in insts)
        items.extend(_removed(em.occurrence_id(ev.id, d)) for d in sorted(ev.excluded_dates))
    return items


def _delta(ctx: Ctx, calendar_id: str | None) -> Response:
    account = ctx.require_account()
    args = ctx.request.args
    raw = query(args, "deltatoken") or query(args, "skiptoken")
    page_size = prefer_page_size(ctx.request.headers.get("Prefer"))
    if page_size is not None:
        ctx.preference_applied.append(f"odata.maxpagesize={page_size}")
    ctx.preference_applied.append("odata.track-changes")
    size = max(1, min(page_size or DEFAULT_PAGE, 1000))
    tz_name = output_tz(ctx)
    with ctx.app.state.lock:
        cal = get_calendar(ctx, calendar_id)
        if raw:
            tok = _decode(raw)
            if tok.get("c") != cal.id or tok.get("a") != account.id:
                raise GraphError(400, "BadRequest", "The delta token does not belong to this calendar.")
            if tok.get("g") != account.delta_generation:
                raise GraphError(
                    410,
                    "SyncStateNotFound",
                    f"The sync state generation is not found; generation={tok.get('g')};"
                    f"[highest={account.delta_generation}].",
                )
            if query(args, "deltatoken"):
                tok = {**tok, "to": ctx.app.state.seq, "o": 0}
        else:
            start, end = window(ctx)
            tok = {
                "a": account.id,
                "c": cal.id,
                "s": start.isoformat(),
                "e": end.isoformat(),
                "g": account.delta_generation,
                "from": 0,
                "to": ctx.app.state.seq,
                "o": 0,
            }
        items = _changes(ctx, account, cal, tok, tz_name)
    offset = int(tok.get("o", 0))
    page = items[offset : offset + size]
    body: dict[str, Any] = {
        "@odata.context": f"{ctx.base_url}/v1.0/$metadata#Collection(event)",
        "value": page,
    }
    if offset + size < len(items):
        body["@odata.nextLink"] = next_link(
            ctx.base_url, ctx.request.path, [("$skiptoken", _encode({**tok, "o": offset + size}))]
        )
    else:
        nxt = {k: v for k, v in tok.items() if k not in ("o",)}
        nxt["from"] = tok["to"]
        body["@odata.deltaLink"] = next_link(ctx.base_url, ctx.request.path, [("$deltatoken", _encode(nxt))])
    return json_response(body)


@route(f"{GRAPH}/me/calendarview/delta", ["GET"], auth="graph", scopes=READ)
def delta_default(ctx: Ctx) -> Response:
    return _delta(ctx, None)


@route(f"{GRAPH}/me/calendar/calendarview/delta", ["GET"], auth="graph", scopes=READ)
def delta_default2(ctx: Ctx) -> Response:
    return _delta(ctx, None)


@route(f"{GRAPH}/me/calendars/<calendar_id>/calendarview/delta", ["GET"], auth="graph", scopes=READ)
def delta_in(ctx: Ctx, calendar_id: str) -> Response:
    return _delta(ctx, calendar_id)
