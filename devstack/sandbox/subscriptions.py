"""/subscriptions: create with the validation handshake, renew, delete, list; plus the hooks that
turn event changes and admin actions into change and lifecycle notifications."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import requests
from werkzeug.wrappers import Response

from lib.adapters.outbound_http import make_session

from .identity import LOOPBACK_HOSTS
from .state import Event, Subscription
from .timeutil import format_utc_z, parse_datetime, utcnow
from .web import Ctx, GraphError, json_response, no_content, route

if TYPE_CHECKING:
    from .app import SandboxApp

GRAPH = "/v1.0"
READ = ["Calendars.Read", "Calendars.ReadWrite", "Calendars.Read.Shared", "Calendars.ReadWrite.Shared"]
CHANGE_TYPES = {"created", "updated", "deleted"}
_RESOURCE = re.compile(
    r"^/?(?:me|users/(?P<user>[^/]+))/(?:events|calendar/events|calendars/(?P<cal>[^/]+)/events)$",
    re.IGNORECASE,
)


def _invalid(message: str) -> GraphError:
    return GraphError(400, "InvalidRequest", message)


def render(ctx: Ctx, sub: Subscription) -> dict[str, Any]:
    account = ctx.app.state.accounts[sub.account_id]
    return {
        "id": sub.id,
        "resource": sub.resource,
        "applicationId": sub.client_id,
        "changeType": ",".join(sub.change_types),
        "clientState": sub.client_state,
        "notificationUrl": sub.notification_url,
        "notificationQueryOptions": None,
        "lifecycleNotificationUrl": sub.lifecycle_notification_url,
        "expirationDateTime": format_utc_z(sub.expiration),
        "creatorId": account.graph_id,
        "includeResourceData": None,
        "latestSupportedTlsVersion": "v1_2",
        "encryptionCertificate": None,
        "encryptionCertificateId": None,
        "notificationUrlAppId": None,
    }


def _check_url(url: str, field: str) -> None:
    parts = urlsplit(url)
    # Deviation: Graph demands HTTPS; the local dev host is plain HTTP, so loopback HTTP is allowed.
    # Any non-loopback host is refused: the sandbox never calls out of the machine.
    if parts.scheme not in ("https", "http") or (parts.hostname or "") not in LOOPBACK_HOSTS:
        raise _invalid(
            f"Subscription validation request failed. {field} must be an HTTPS URL "
            "(the sandbox accepts loopback http/https URLs only)."
        )


def validate_endpoint(ctx: Ctx, url: str) -> None:
    """Graph's handshake: POST {url}?validationToken=..., expect 200 text/plain echoing it in 10 s."""
    token = f"Validation: Testing client application reachability for subscription Request-Id: {uuid.uuid4()}"
    sep = "&" if urlsplit(url).query else "?"
    failed = GraphError(
        400,
        "ValidationError",
        "Subscription validation request failed. Notification endpoint must respond with 200 OK to "
        "validation request.",
    )
    session = make_session(ctx.app.config.notification_ca_bundle)
    try:
        resp = session.post(
            f"{url}{sep}validationToken={quote(token)}",
            data=b"",
            headers={"Content-Type": "text/plain; charset=utf-8"},
            timeout=ctx.app.config.validation_timeout,
            allow_redirects=False,
        )
    except requests.Timeout:
        raise GraphError(400, "ValidationError", "Subscription validation request timed out.") from None
    except requests.RequestException:
        raise failed from None
    content_type = resp.headers.get("Content-Type", "")
    if resp.status_code != 200 or not content_type.lower().startswith("text/plain") or resp.text != token:
        raise failed


def _expiration(ctx: Ctx, raw: Any) -> Any:
    if not raw:
        raise _invalid("expirationDateTime is required.")
    try:
        dt, has_offset = parse_datetime(str(raw))
    except ValueError:
        raise _invalid(f"Invalid expirationDateTime '{raw}'.") from None
    if not has_offset:
        dt = dt.replace(tzinfo=utcnow().tzinfo)
    now = utcnow()
    max_minutes = ctx.app.config.max_subscription_minutes
    if dt <= now:
        raise _invalid("Subscription expiration can only be in the future.")
    if dt > now + timedelta(minutes=max_minutes):
        raise _invalid(f"Subscription expiration can only be {max_minutes} minutes in the future.")
    return dt


def _live(ctx: Ctx, sub_id: str) -> Subscription:
    account = ctx.require_account()
    sub = ctx.app.state.subscriptions.get(sub_id)
    if sub is not None and sub.expiration <= utcnow():
        ctx.app.state.subscriptions.pop(sub_id, None)
        sub = None
    if sub is None or sub.account_id != account.id or (ctx.token and sub.client_id != ctx.token.client_id):
        raise GraphError(
            404, "ResourceNotFound", f"The object was not found. Subscription '{sub_id}' does not exist."
        )
    return sub


@route(f"{GRAPH}/subscriptions", ["POST"], auth="graph", scopes=READ)
def create(ctx: Ctx) -> Response:
    account = ctx.require_account()
    body = ctx.json_body()
    resource = str(body.get("resource") or "")
    m = _RESOURCE.match(resource)
    if not m:
        raise _invalid(f"The sandbox supports event subscriptions only; unsupported resource '{resource}'.")
    user = m.group("user")
    if user and user.lower() not in (account.email.lower(), account.graph_id.lower(), account.id.lower()):
        raise GraphError(403, "ExtensionError", "Access is denied to the requested resource.")
    with ctx.app.state.lock:
        cal_id = m.group("cal")
        cal = (
            ctx.app.state.default_calendar(account.id)
            if not cal_id
            else ctx.app.state.calendars.get(cal_id.lower())
        )
        if cal is None or cal.account_id != account.id:
            raise GraphError(404, "ResourceNotFound", f"Resource '{resource}' was not found.")
    types = [t.strip() for t in str(body.get("changeType") or "").split(",") if t.strip()]
    if not types or any(t not in CHANGE_TYPES for t in types):
        raise _invalid(f"Invalid changeType '{body.get('changeType')}'.")
    client_state = body.get("clientState")
    if client_state is not None and len(str(client_state)) > 128:
        raise _invalid("clientState must not exceed 128 characters.")
    expiration = _expiration(ctx, body.get("expirationDateTime"))
    url = str(body.get("notificationUrl") or "")
    lifecycle = body.get("lifecycleNotificationUrl")
    _check_url(url, "notificationUrl")
    if lifecycle:
        _check_url(str(lifecycle), "lifecycleNotificationUrl")
    # Outside the state lock: the receiver may be slow (up to 10 s).
    validate_endpoint(ctx, url)
    if lifecycle and lifecycle != url:
        validate_endpoint(ctx, str(lifecycle))
    sub = Subscription(
        id=str(uuid.uuid4()),
        account_id=account.id,
        client_id=ctx.token.client_id if ctx.token else "",
        resource=resource,
        calendar_id=cal.id,
        change_types=types,
        notification_url=url,
        lifecycle_notification_url=str(lifecycle) if lifecycle else None,
        client_state=str(client_state) if client_state is not None else None,
        expiration=expiration,
    )
    with ctx.app.state.lock:
        ctx.app.state.subscriptions[sub.id] = sub
        out = render(ctx, sub)
    out = {"@odata.context": f"{ctx.base_url}/v1.0/$metadata#subscriptions/$entity", **out}
    return json_response(out, 201)


@route(f"{GRAPH}/subscriptions", ["GET"], auth="graph", mailbox=False)
def list_subscriptions(ctx: Ctx) -> Response:
    account = ctx.require_account()
    now = utcnow()
    with ctx.app.state.lock:
        subs = [
            render(ctx, s)
            for s in ctx.app.state.subscriptions.values()
            if s.account_id == account.id
            and s.expiration > now
            and (ctx.token is None or s.client_id == ctx.token.client_id)
        ]
    return json_response({"@odata.context": f"{ctx.base_url}/v1.0/$metadata#subscriptions", "value": subs})


@route(f"{GRAPH}/subscriptions/<sub_id>", ["GET"], auth="graph", mailbox=False)
def get_subscription(ctx: Ctx, sub_id: str) -> Response:
    with ctx.app.state.lock:
        out = render(ctx, _live(ctx, sub_id))
    return json_response({"@odata.context": f"{ctx.base_url}/v1.0/$metadata#subscriptions/$entity", **out})


@route(f"{GRAPH}/subscriptions/<sub_id>", ["PATCH"], auth="graph", mailbox=False)
def renew(ctx: Ctx, sub_id: str) -> Response:
    body = ctx.json_body()
    with ctx.app.state.lock:
        sub = _live(ctx, sub_id)
    new_url = body.get("notificationUrl")
    if new_url:
        _check_url(str(new_url), "notificationUrl")
        validate_endpoint(ctx, str(new_url))
    expiration = _expiration(ctx, body["expirationDateTime"]) if "expirationDateTime" in body else None
    with ctx.app.state.lock:
        sub = _live(ctx, sub_id)
        if expiration is not None:
            sub.expiration = expiration
        if new_url:
            sub.notification_url = str(new_url)
        out = render(ctx, sub)
    return json_response({"@odata.context": f"{ctx.base_url}/v1.0/$metadata#subscriptions/$entity", **out})


@route(f"{GRAPH}/subscriptions/<sub_id>", ["DELETE"], auth="graph", mailbox=False)
def delete(ctx: Ctx, sub_id: str) -> Response:
    with ctx.app.state.lock:
        _live(ctx, sub_id)
        ctx.app.state.subscriptions.pop(sub_id, None)
    return no_content()


@route(f"{GRAPH}/subscriptions/<sub_id>/reauthorize", ["POST"], auth="graph", mailbox=False)
def reauthorize(ctx: Ctx, sub_id: str) -> Response:
    with ctx.app.state.lock:
        _live(ctx, sub_id)
    return no_content()


# --- notification hooks -------------------------------------------------------------------------


def notify_change(app: SandboxApp, ev: Event, change_type: str) -> None:
    """Queue a change notification for every live subscription on the event's calendar.
    Called with the state lock held."""
    now = utcnow()
    account = app.state.accounts[ev.account_id]
    odata_id = f"Users/{account.graph_id}/Events/{ev.id}"
    for sub in list(app.state.subscriptions.values()):
        if sub.calendar_id != ev.calendar_id or change_type not in sub.change_types or sub.expiration <= now:
            continue
        item = {
            "subscriptionId": sub.id,
            "subscriptionExpirationDateTime": format_utc_z(sub.expiration),
            "changeType": change_type,
            "resource": odata_id,
            "resourceData": {
                "@odata.type": "#Microsoft.Graph.Event",
                "@odata.id": odata_id,
                "@odata.etag": f'W/"{ev.change_key}"',
                "id": ev.id,
            },
            "clientState": sub.client_state,
            "tenantId": account.tenant_id,
        }
        app.notifier.enqueue(sub.notification_url, {"value": [item]}, "change")


def send_lifecycle(app: SandboxApp, sub_id: str, event: str) -> bool:
    """Send a lifecycle notification; `subscriptionRemoved` also removes the subscription.
    False when the subscription does not exist."""
    with app.state.lock:
        sub = app.state.subscriptions.get(sub_id)
        if sub is None:
            return False
        account = app.state.accounts[sub.account_id]
        if event == "subscriptionRemoved":
            app.state.subscriptions.pop(sub_id, None)
        item = {
            "subscriptionId": sub.id,
            "subscriptionExpirationDateTime": format_utc_z(sub.expiration),
            "tenantId": account.tenant_id,
            "clientState": sub.client_state,
            "lifecycleEvent": event,
        }
    if sub.lifecycle_notification_url:
        app.notifier.enqueue(sub.lifecycle_notification_url, {"value": [item]}, "lifecycle")
    return True
