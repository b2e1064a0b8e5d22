"""calendarList (list, get), calendars.get, and the access rules every calendar route shares: which
calendar `primary` is, the viewer's accessRole, and what the token's scopes allow on it."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Response

from .config import SCOPE_PREFIX
from .paging import first_page, next_page
from .state import Calendar, role_at_least
from .web import Ctx, GoogleError, json_response, route

CAL = SCOPE_PREFIX + "calendar"
LIST_SCOPES = (CAL, CAL + ".readonly", CAL + ".calendarlist", CAL + ".calendarlist.readonly")
# Full event details on any calendar the user can read.
DETAIL_READ = (CAL, CAL + ".readonly", CAL + ".events", CAL + ".events.readonly")
OWNED_READ = (CAL + ".events.owned", CAL + ".events.owned.readonly")
FREEBUSY_READ = (CAL + ".events.freebusy",)
READ_SCOPES = DETAIL_READ + OWNED_READ + FREEBUSY_READ
WRITE_SCOPES = (CAL, CAL + ".events", CAL + ".events.owned")
FREEBUSY_SCOPES = (CAL, CAL + ".readonly", CAL + ".events.freebusy", CAL + ".freebusy")
ANY_CALENDAR_SCOPE = tuple(dict.fromkeys(LIST_SCOPES + READ_SCOPES + WRITE_SCOPES + FREEBUSY_SCOPES))

NOT_FOUND = "Not Found"


@dataclass(frozen=True)
class Access:
    calendar: Calendar
    role: str
    freebusy_only: bool  # the viewer may see when, not what


def resolve(ctx: Ctx, calendar_id: str, *, write: bool = False) -> Access:
    """The calendar a route names, as the token's user may use it; 404 when the user cannot see it
    (Google does not tell unknown from forbidden), 403 requiredAccessLevel for a write without
    writer access."""
    user = ctx.require_user()
    scopes = set(ctx.token.scopes if ctx.token else [])
    state = ctx.app.state
    cid = user.email.lower() if calendar_id == "primary" else calendar_id
    with state.lock:
        cal = state.calendars.get(cid)
        role = state.role(cal, user.email) if cal else None
    if cal is None or role is None:
        raise GoogleError(404, "notFound", NOT_FOUND)
    owned_only = not scopes.intersection((*DETAIL_READ, CAL + ".events")) and bool(
        scopes.intersection(OWNED_READ)
    )
    if owned_only and role != "owner":
        raise GoogleError(404, "notFound", NOT_FOUND)
    if write:
        if not role_at_least(role, "writer"):
            raise GoogleError(403, "requiredAccessLevel", "You need to have writer access to this calendar.")
        return Access(cal, role, False)
    freebusy_only = role == "freeBusyReader" or not scopes.intersection(DETAIL_READ + OWNED_READ)
    return Access(cal, role, freebusy_only)


def entry(cal: Calendar, email: str, role: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "kind": "calendar#calendarListEntry",
        "etag": f'"{1700000000000000 + zlib.crc32(cal.id.encode())}"',
        "id": cal.id,
        "summary": cal.summary,
        "timeZone": cal.time_zone,
        "colorId": "14",
        "backgroundColor": "#9fe1e7",
        "foregroundColor": "#000000",
        "selected": True,
        "accessRole": role,
        "defaultReminders": [],
    }
    if cal.id == email.lower():
        out |= {"primary": True, "defaultReminders": [{"method": "popup", "minutes": 10}]}
    return out


@route("/calendar/v3/users/me/calendarList", ["GET"], auth="bearer", scopes=LIST_SCOPES)
def calendar_list(ctx: Ctx) -> Response:
    user = ctx.require_user()
    min_role = ctx.request.args.get("minAccessRole")
    if min_role is not None and min_role not in ("freeBusyReader", "reader", "writer", "owner"):
        raise GoogleError(400, "invalid", f"Invalid value for: minAccessRole: {min_role}")
    try:
        max_results = int(ctx.request.args.get("maxResults", "100"))
    except ValueError:
        raise GoogleError(400, "invalid", "Invalid value for: maxResults") from None
    state = ctx.app.state
    with state.lock:
        items = [
            entry(c, user.email, role)
            for c in state.calendars_of(user.email)
            if (role := state.role(c, user.email)) and (min_role is None or role_at_least(role, min_role))
        ]
    items.sort(key=lambda e: (not e.get("primary", False), e["summary"]))
    header = {"kind": "calendar#calendarList", "etag": '"p33k0"'}
    if ctx.request.args.get("pageToken"):
        return json_response(next_page(ctx, header, "calendarList", ctx.request.args["pageToken"]))
    return json_response(first_page(ctx, header, "calendarList", items, min(max(max_results, 1), 250), None))


@route("/calendar/v3/users/me/calendarList/<calendar_id>", ["GET"], auth="bearer", scopes=LIST_SCOPES)
def calendar_list_entry(ctx: Ctx, calendar_id: str) -> Response:
    user = ctx.require_user()
    cid = user.email.lower() if calendar_id == "primary" else calendar_id
    state = ctx.app.state
    with state.lock:
        cal = state.calendars.get(cid)
        role = state.role(cal, user.email) if cal else None
    if cal is None or role is None:
        raise GoogleError(404, "notFound", NOT_FOUND)
    return json_response(entry(cal, user.email, role))


@route("/calendar/v3/calendars/<calendar_id>", ["GET"], auth="bearer", scopes=ANY_CALENDAR_SCOPE)
def calendar_get(ctx: Ctx, calendar_id: str) -> Response:
    access = resolve(ctx, calendar_id)
    cal = access.calendar
    return json_response(
        {
            "kind": "calendar#calendar",
            "etag": f'"{zlib.crc32(cal.id.encode())}"',
            "id": cal.id,
            "summary": cal.summary,
            "timeZone": cal.time_zone,
        }
    )
