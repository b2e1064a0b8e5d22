"""/me/calendars, /me/calendars/{id} and /me/calendar."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from .odata import apply_select, next_link, select_fields, skip, top
from .state import Account, Calendar
from .web import Ctx, GraphError, json_response, route

GRAPH = "/v1.0"
READ = [
    "Calendars.Read",
    "Calendars.ReadWrite",
    "Calendars.ReadBasic",
    "Calendars.Read.Shared",
    "Calendars.ReadWrite.Shared",
]


def render_calendar(c: Calendar, account: Account) -> dict[str, Any]:
    own = c.owner_address.lower() == account.email.lower()
    providers = ["teamsForBusiness"] if account.kind == "work" else ["skypeForConsumer"]
    return {
        "@odata.id": f"users('{account.graph_id}')/calendars('{c.id}')",
        "id": c.id,
        "name": c.name,
        "color": c.color,
        "hexColor": c.hex_color,
        "groupClassId": "0006f0b7-0000-0000-c000-000000000046",
        "isDefaultCalendar": c.is_default,
        "changeKey": c.change_key,
        "canShare": own,
        "canViewPrivateItems": own,
        "canEdit": c.can_edit,
        "allowedOnlineMeetingProviders": providers if c.can_edit else [],
        "defaultOnlineMeetingProvider": providers[0] if c.can_edit else "unknown",
        "isTallyingResponses": own,
        "isRemovable": not c.is_default,
        "owner": {"name": c.owner_name, "address": c.owner_address},
    }


def get_calendar(ctx: Ctx, calendar_id: str | None) -> Calendar:
    """The account's calendar by id, or its default calendar when id is None."""
    account = ctx.require_account()
    state = ctx.app.state
    cal = state.default_calendar(account.id) if calendar_id is None else state.calendars.get(calendar_id)
    if cal is None or cal.account_id != account.id:
        raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")
    return cal


@route(f"{GRAPH}/me/calendars", ["GET"], auth="graph", scopes=READ)
def list_calendars(ctx: Ctx) -> Response:
    account = ctx.require_account()
    args = ctx.request.args
    n, offset = top(args, 10, 1000), skip(args)
    with ctx.app.state.lock:
        cals = ctx.app.state.calendars_of(account.id)
    fields = select_fields(args)
    page = [apply_select(render_calendar(c, account), fields) for c in cals[offset : offset + n]]
    body: dict[str, Any] = {
        "@odata.context": f"{ctx.base_url}/v1.0/$metadata#users('{account.graph_id}')/calendars",
        "value": page,
    }
    if offset + n < len(cals):
        params = [(k, v) for k, v in args.items() if k.lower() not in ("$skip", "skip")]
        body["@odata.nextLink"] = next_link(
            ctx.base_url, "/v1.0/me/calendars", [*params, ("$skip", str(offset + n))]
        )
    return json_response(body)


@route(f"{GRAPH}/me/calendars/<calendar_id>", ["GET"], auth="graph", scopes=READ)
def calendar_by_id(ctx: Ctx, calendar_id: str) -> Response:
    return _one(ctx, calendar_id)


@route(f"{GRAPH}/me/calendar", ["GET"], auth="graph", scopes=READ)
def default_calendar(ctx: Ctx) -> Response:
    return _one(ctx, None)


def _one(ctx: Ctx, calendar_id: str | None) -> Response:
    account = ctx.require_account()
    with ctx.app.state.lock:
        cal = get_calendar(ctx, calendar_id)
    body = {
        "@odata.context": f"{ctx.base_url}/v1.0/$metadata#users('{account.graph_id}')/calendars/$entity",
        **render_calendar(cal, account),
    }
    return json_response(apply_select(body, select_fields(ctx.request.args)))
