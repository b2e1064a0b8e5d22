"""/me and /me/mailboxSettings."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from .odata import apply_select, select_fields
from .web import Ctx, json_response, route

GRAPH = "/v1.0"


@route(f"{GRAPH}/me", ["GET"], auth="graph", scopes=["User.Read", "User.ReadWrite", "User.ReadBasic.All"])
def me(ctx: Ctx) -> Response:
    a = ctx.require_account()
    given, _, surname = a.display_name.partition(" ")
    body: dict[str, Any] = {
        "@odata.context": f"{ctx.base_url}/v1.0/$metadata#users/$entity",
        "businessPhones": [],
        "displayName": a.display_name,
        "givenName": given or None,
        "jobTitle": None,
        "mail": a.email,
        "mobilePhone": None,
        "officeLocation": None,
        "preferredLanguage": "en-US",
        "surname": surname or None,
        "userPrincipalName": a.email,
        "id": a.graph_id,
    }
    return json_response(apply_select(body, select_fields(ctx.request.args)))


@route(
    f"{GRAPH}/me/mailboxsettings",
    ["GET"],
    auth="graph",
    scopes=["MailboxSettings.Read", "MailboxSettings.ReadWrite"],
)
def mailbox_settings(ctx: Ctx) -> Response:
    a = ctx.require_account()
    body = {
        "@odata.context": f"{ctx.base_url}/v1.0/$metadata#users('{a.graph_id}')/mailboxSettings",
        "archiveFolder": "",
        "timeZone": a.time_zone,
        "delegateMeetingMessageDeliveryOptions": "sendToDelegateOnly",
        "dateFormat": "M/d/yyyy",
        "timeFormat": "h:mm tt",
        "userPurpose": "user",
        "automaticRepliesSetting": {
            "status": "disabled",
            "externalAudience": "all",
            "internalReplyMessage": "",
            "externalReplyMessage": "",
            "scheduledStartDateTime": {"dateTime": "2026-01-01T00:00:00.0000000", "timeZone": "UTC"},
            "scheduledEndDateTime": {"dateTime": "2026-01-02T00:00:00.0000000", "timeZone": "UTC"},
        },
        "language": {"locale": "en-US", "displayName": "English (United States)"},
        "workingHours": {
            "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
            "startTime": "08:00:00.0000000",
            "endTime": "17:00:00.0000000",
            "timeZone": {"name": a.time_zone},
        },
    }
    return json_response(apply_select(body, select_fields(ctx.request.args)))
