"""freeBusy.query: busy intervals per calendar in one 200 answer; a calendar the user cannot see
(or one the admin API breaks) carries `errors` instead of failing the whole request."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from werkzeug.wrappers import Response

from . import events_model as em
from .calendar_list import FREEBUSY_SCOPES
from .events import horizon
from .web import Ctx, GoogleError, json_response, route

CALENDAR_EXPANSION_MAX = 50


def _merge(spans: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for s, e in sorted(spans):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


@route("/calendar/v3/freeBusy", ["POST"], auth="bearer", scopes=FREEBUSY_SCOPES)
def query(ctx: Ctx) -> Response:
    user = ctx.require_user()
    body = ctx.json_body()
    for name in ("timeMin", "timeMax"):
        if not body.get(name):
            raise GoogleError(400, "required", "Required", location=("parameter", name))
    lo, hi = em.parse_rfc3339(body["timeMin"], "timeMin"), em.parse_rfc3339(body["timeMax"], "timeMax")
    if hi <= lo:
        raise GoogleError(400, "timeRangeEmpty", "The specified time range is empty.")
    items = body.get("items") or []
    if not isinstance(items, list) or not all(isinstance(i, dict) and i.get("id") for i in items):
        raise GoogleError(400, "invalid", "Invalid value for: items")
    if len(items) > CALENDAR_EXPANSION_MAX:
        raise GoogleError(400, "tooManyCalendarsRequested", "The number of calendars requested is too large.")
    out_tz = em.zone(body.get("timeZone") or "UTC")
    state = ctx.app.state
    calendars: dict[str, Any] = {}
    with state.lock:
        for item in items:
            asked = str(item["id"])
            cid = user.email.lower() if asked == "primary" else asked
            cal = state.calendars.get(cid)
            if cal is None or state.role(cal, user.email) is None:
                calendars[asked] = {"errors": [{"domain": "global", "reason": "notFound"}], "busy": []}
                continue
            if cal.freebusy_error:
                calendars[asked] = {
                    "errors": [{"domain": "global", "reason": cal.freebusy_error}],
                    "busy": [],
                }
                continue
            spans: list[tuple[datetime, datetime]] = []
            for ev in state.events_of(cal.id):
                if ev.deleted:
                    continue
                found = (
                    list(em.instances(ev, cal.time_zone, lo, hi, horizon(ctx)))
                    if ev.data.get("recurrence")
                    else [ev.data]
                )
                for data in found:
                    if not em.blocks_time(data, cal.owner_email):
                        continue
                    s, e = em.span(data, cal.time_zone)
                    if e > lo and s < hi:
                        spans.append((max(s, lo), min(e, hi)))
            calendars[asked] = {
                "busy": [
                    {"start": em.rfc3339(s, out_tz), "end": em.rfc3339(e, out_tz)} for s, e in _merge(spans)
                ]
            }
    return json_response(
        {
            "kind": "calendar#freeBusy",
            "timeMin": body["timeMin"],
            "timeMax": body["timeMax"],
            "calendars": calendars,
        }
    )
