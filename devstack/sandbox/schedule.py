"""POST /me/calendar/getSchedule: free/busy of up to 20 mailboxes over less than 62 days, from
their default calendars. Work accounts only."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from werkzeug.wrappers import Response

from .calendar_view import instances_in
from .graph_calendars import READ
from .odata import prefer_timezone
from .timeutil import format_graph, localize, parse_datetime, resolve_tz, to_zone
from .web import Ctx, GraphError, json_response, route

GRAPH = "/v1.0"
VIEW_DIGIT = {"free": "0", "tentative": "1", "busy": "2", "oof": "3", "workingElsewhere": "4", "unknown": "2"}
# When items overlap in one interval the strongest status wins.
RANK = {"free": 0, "workingElsewhere": 1, "tentative": 2, "unknown": 3, "busy": 4, "oof": 5}


def _time(value: Any, field: str) -> tuple[datetime, str]:
    if not isinstance(value, dict) or not value.get("dateTime") or not value.get("timeZone"):
        raise GraphError(400, "ErrorInvalidParameter", f"'{field}' needs dateTime and timeZone.")
    tz = resolve_tz(str(value["timeZone"]))
    if tz is None:
        raise GraphError(
            400, "ErrorInvalidParameter", f"The time zone '{value['timeZone']}' is not supported."
        )
    try:
        dt, has_offset = parse_datetime(str(value["dateTime"]))
    except ValueError:
        raise GraphError(400, "ErrorInvalidParameter", f"Invalid {field}.") from None
    return (dt if has_offset else localize(dt, tz)), str(value["timeZone"])


@route(f"{GRAPH}/me/calendar/getschedule", ["POST"], auth="graph", scopes=READ)
def get_schedule(ctx: Ctx) -> Response:
    account = ctx.require_account()
    if account.kind != "work":
        raise GraphError(
            400, "ErrorInvalidRequest", "getSchedule is only available for work or school accounts."
        )
    body = ctx.json_body()
    schedules = body.get("schedules")
    if not isinstance(schedules, list) or not schedules:
        raise GraphError(400, "ErrorInvalidParameter", "At least one schedule is required.")
    if len(schedules) > 20:
        raise GraphError(400, "ErrorInvalidParameter", "The number of schedules can't exceed 20.")
    start, start_tz = _time(body.get("startTime"), "startTime")
    end, _ = _time(body.get("endTime"), "endTime")
    if end <= start:
        raise GraphError(400, "ErrorInvalidParameter", "The endTime must be after the startTime.")
    if end - start >= timedelta(days=62):
        raise GraphError(
            400, "ErrorInvalidParameter", "The requested time duration exceeds the 62-day limit."
        )
    interval = int(body.get("availabilityViewInterval", 30))
    if interval < 5 or interval > 1440:
        raise GraphError(400, "ErrorInvalidParameter", "availabilityViewInterval must be between 5 and 1440.")
    out_name = prefer_timezone(ctx.request.headers.get("Prefer")) or start_tz
    out_tz = resolve_tz(out_name)
    assert out_tz is not None
    results: list[dict[str, Any]] = []
    with ctx.app.state.lock:
        for address in schedules:
            target = ctx.app.state.account_by_email(str(address))
            cal = ctx.app.state.default_calendar(target.id) if target is not None else None
            if (
                target is None
                or target.kind != "work"
                or target.tenant_id != account.tenant_id
                or cal is None
            ):
                results.append(
                    {
                        "scheduleId": address,
                        "availabilityView": "",
                        "scheduleItems": [],
                        "workingHours": None,
                        "error": {
                            "message": f"The specified mailbox '{address}' could not be found.",
                            "responseCode": "ErrorMailRecipientNotFound",
                        },
                    }
                )
                continue
            pairs = instances_in(ctx.app.state, cal, start, end, out_tz)
            items = [
                {
                    "isPrivate": ev.sensitivity == "private",
                    "status": ev.show_as,
                    "subject": ev.subject,
                    "location": ev.location.get("displayName", ""),
                    "isMeeting": bool(ev.attendees),
                    "isRecurring": ev.recurrence is not None,
                    "isException": False,
                    "isReminderSet": True,
                    "start": {"dateTime": format_graph(to_zone(inst.start, out_tz)), "timeZone": out_name},
                    "end": {"dateTime": format_graph(to_zone(inst.end, out_tz)), "timeZone": out_name},
                }
                for ev, inst in pairs
            ]
            view = []
            slot = start
            while slot < end:
                slot_end = min(slot + timedelta(minutes=interval), end)
                best = "free"
                for ev, inst in pairs:
                    if inst.start < slot_end and inst.end > slot and RANK[ev.show_as] > RANK[best]:
                        best = ev.show_as
                view.append(VIEW_DIGIT[best])
                slot = slot_end
            results.append(
                {
                    "scheduleId": address,
                    "availabilityView": "".join(view),
                    "scheduleItems": items,
                    "workingHours": {
                        "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
                        "startTime": "08:00:00.0000000",
                        "endTime": "17:00:00.0000000",
                        "timeZone": {"name": target.time_zone},
                    },
                }
            )
    return json_response(
        {
            "@odata.context": (
                f"{ctx.base_url}/v1.0/$metadata#Collection(microsoft.graph.scheduleInformation)"
            ),
            "value": results,
        }
    )
