"""Webhook deliveries for the product's operators (API key only: the deliveries are the product
backend's, no user's browser has a use for them): list failed ones, redeliver one or all."""

from __future__ import annotations

import azure.functions as func

from functions.http_io import api_handler, json_response
from lib.core.auth import Forbidden, authenticate
from lib.core.settings import get_settings

bp = func.Blueprint()


def _require_backend(req: func.HttpRequest) -> None:
    if not authenticate(req.headers, get_settings().keys).is_backend:
        raise Forbidden("Webhook deliveries are managed with the API key.")


@bp.route(route="webhooks/deliveries", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@api_handler
def list_deliveries(req: func.HttpRequest) -> func.HttpResponse:
    from lib.api.webhooks import WebhookDeliveries, WebhookDelivery
    from lib.features.outbox import service as outbox

    _require_backend(req)
    page = outbox.list_deliveries(dict(req.params))
    answer = WebhookDeliveries(
        deliveries=[WebhookDelivery.of(r) for r in page.deliveries], next_cursor=page.next_cursor
    )
    return json_response(answer.wire())


@bp.route(route="webhooks/deliveries/redeliver", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@api_handler
def redeliver_failed(req: func.HttpRequest) -> func.HttpResponse:
    from lib.api.webhooks import RedeliveryQueued
    from lib.features.outbox import service as outbox

    _require_backend(req)
    return json_response(
        RedeliveryQueued(status="queued", count=outbox.redeliver_failed()).wire(), status=202
    )


@bp.route(
    route="webhooks/deliveries/{deliveryId}/redeliver", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS
)
@api_handler
def redeliver_one(req: func.HttpRequest) -> func.HttpResponse:
    from lib.api.webhooks import RedeliveryQueued
    from lib.features.outbox import service as outbox

    _require_backend(req)
    queued = outbox.redeliver(req.route_params["deliveryId"])
    return json_response(RedeliveryQueued(status="queued", count=queued).wire(), status=202)
