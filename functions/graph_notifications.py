"""`POST /graph/notifications` and `POST /graph/lifecycle`: what Microsoft Graph calls (anonymous;
each item verified by its clientState), and `POST /google/notifications`, Google's channel pushes
(verified by the channel token). The validation handshake is answered with the token;
notifications are verified and enqueued (202), or answered 5xx when the queue cannot be written so
Graph retries. Nothing heavy is imported here: this is the path a cold start must answer fast."""

from __future__ import annotations

import logging

import azure.functions as func

from functions.http_io import api_handler
from lib.core.errors import ServiceUnavailable
from lib.features.sync import intake
from lib.features.sync.messages import NoticeKind
from lib.providers.google.push import read_channel_message

bp = func.Blueprint()
log = logging.getLogger("slotbridge.sync.intake")

_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}


def _receive(req: func.HttpRequest, kind: NoticeKind) -> func.HttpResponse:
    token = intake.validation_token(req.params)
    if token is not None:
        return func.HttpResponse(
            token, status_code=200, headers={**_HEADERS, "Content-Type": "text/plain; charset=utf-8"}
        )
    try:
        intake.accept_notifications(req.get_body() or b"", kind)
    except ServiceUnavailable:
        log.error("graph_notification_not_enqueued kind=%s: answering 503 so Graph retries", kind.value)
        raise
    return func.HttpResponse(status_code=202, headers=_HEADERS)


@bp.route(route="graph/notifications", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@api_handler
def graph_notifications(req: func.HttpRequest) -> func.HttpResponse:
    return _receive(req, NoticeKind.CHANGE)


@bp.route(route="graph/lifecycle", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@api_handler
def graph_lifecycle(req: func.HttpRequest) -> func.HttpResponse:
    return _receive(req, NoticeKind.LIFECYCLE)


@bp.route(route="google/notifications", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@api_handler
def google_notifications(req: func.HttpRequest) -> func.HttpResponse:
    """Google's push for a watch channel: no body, the headers say it all. A message whose token
    verifies is enqueued (the channel's first, `sync`, only acknowledged); anything else is
    dropped. 200 either way (Google retries only a failed answer); 503 when the queue cannot be
    written, so Google retries."""
    message = read_channel_message(req.headers.get)
    if message is not None and not message.is_handshake:
        try:
            intake.accept_push(message.subscription_id, message.client_state, message.state)
        except ServiceUnavailable:
            log.error("google_notification_not_enqueued: answering 503 so Google retries")
            raise
    return func.HttpResponse(status_code=200, headers=_HEADERS)
