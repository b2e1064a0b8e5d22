"""Connections, calendars and calendar settings of a user (management routes), and the OAuth
redirect URI. Handlers parse, call one lib service and answer with an edge model (`lib.api.connections`);
both are imported on first use, not on the cold-start path of the Graph webhook."""

from __future__ import annotations

from urllib.parse import parse_qsl

import azure.functions as func

from functions.auth_guard import principal_for_user
from functions.http_io import api_handler, json_response, read_json, traced

bp = func.Blueprint()

MAX_CALLBACK_BODY = 64 * 1024


@bp.route(route="users/{userId}/connections", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@api_handler
def start_connection(req: func.HttpRequest) -> func.HttpResponse:
    from lib.api.connections import ConnectRequest, ConnectStart
    from lib.features.connections import connect_flow

    user_id = req.route_params["userId"]
    principal_for_user(req, user_id)
    asked = ConnectRequest.parse(read_json(req) if req.get_body() else {})
    started = connect_flow.start_connect(
        user_id, asked.mode, asked.return_url, asked.opener_origin, asked.provider
    )
    return json_response(ConnectStart.of(started).wire(), status=201)


@bp.route(route="auth/callback", methods=["GET", "POST"], auth_level=func.AuthLevel.ANONYMOUS)
@traced
def auth_callback(req: func.HttpRequest) -> func.HttpResponse:
    from functions.callback_page import render, render_admin_consent
    from lib.features.connections import connect_flow

    # form_post answers arrive as a form body; error redirects may come as a query.
    body = req.get_body()[:MAX_CALLBACK_BODY] if req.method == "POST" else b""
    params = dict(req.params)
    params.update(dict(parse_qsl(body.decode("utf-8", "replace"))))
    # The admin-consent link (adminConsentUrl) comes back here too, with its own state.
    if connect_flow.is_admin_consent_answer(params):
        return render_admin_consent(connect_flow.complete_admin_consent(params))
    return render(connect_flow.complete_connect(params))


@bp.route(route="auth/admin-consent", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@api_handler
def admin_consent_link(req: func.HttpRequest) -> func.HttpResponse:
    """A stable approval link to hand to an administrator (register-app.sh prints it): sends them
    to Microsoft's admin-consent page with a fresh state, so they land on the approval page. It needs
    no key and stores nothing, so anonymous callers cannot make it cost anything."""
    from lib.adapters.identity.sign_in_errors import admin_consent_url
    from lib.core.settings import get_settings

    return func.HttpResponse(
        status_code=302,
        headers={
            "Location": admin_consent_url(get_settings()),
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
        },
    )


@bp.route(route="users/{userId}/connections", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@api_handler
def list_connections(req: func.HttpRequest) -> func.HttpResponse:
    from lib.api.connections import Connection, Connections
    from lib.features.connections import lifecycle

    user_id = req.route_params["userId"]
    principal_for_user(req, user_id)
    views = lifecycle.list_connections(user_id)
    return json_response(Connections(connections=[Connection.of(v) for v in views]).wire())


@bp.route(
    route="users/{userId}/connections/{connectionId}", methods=["DELETE"], auth_level=func.AuthLevel.ANONYMOUS
)
@api_handler
def delete_connection(req: func.HttpRequest) -> func.HttpResponse:
    from lib.features.connections import lifecycle

    user_id = req.route_params["userId"]
    principal_for_user(req, user_id)
    lifecycle.disconnect(user_id, req.route_params["connectionId"])
    return func.HttpResponse(status_code=204)


@bp.route(route="users/{userId}/calendars", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@api_handler
def list_calendars(req: func.HttpRequest) -> func.HttpResponse:
    from lib.api.connections import CalendarList
    from lib.features.connections import calendars

    user_id = req.route_params["userId"]
    principal_for_user(req, user_id)
    return json_response(CalendarList.of(calendars.list_calendars(user_id)).wire())


@bp.route(route="users/{userId}/calendar-settings", methods=["PUT"], auth_level=func.AuthLevel.ANONYMOUS)
@api_handler
def put_calendar_settings(req: func.HttpRequest) -> func.HttpResponse:
    from lib.api.connections import CalendarSettings
    from lib.features.connections import calendars

    user_id = req.route_params["userId"]
    principal_for_user(req, user_id)
    selection = calendars.parse_calendar_selection(read_json(req))
    return json_response(CalendarSettings.of(calendars.update_calendar_settings(user_id, selection)).wire())


@bp.route(route="users/{userId}/account-limit", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@api_handler
def get_account_limit(req: func.HttpRequest) -> func.HttpResponse:
    from lib.api.connections import AccountLimit
    from lib.features.connections import account_limits

    user_id = req.route_params["userId"]
    principal_for_user(req, user_id)
    return json_response(AccountLimit.of(account_limits.account_limit(user_id)).wire())


@bp.route(route="users/{userId}/account-limit", methods=["PUT"], auth_level=func.AuthLevel.ANONYMOUS)
@api_handler
def put_account_limit(req: func.HttpRequest) -> func.HttpResponse:
    from lib.api.connections import AccountLimit
    from lib.features.connections import account_limits

    user_id = req.route_params["userId"]
    principal = principal_for_user(req, user_id)
    stored = account_limits.set_account_limit(
        principal, user_id, lambda: account_limits.parse_max_accounts(read_json(req))
    )
    return json_response(AccountLimit.of(stored).wire())
