"""Sync: "Sync now" (management route), the queue triggers that process Graph notices and sync
requests, and the renewal and reconciliation timers (schedules from settings)."""

from __future__ import annotations

import logging

import azure.functions as func

from functions.auth_guard import principal_for_user
from functions.http_io import api_handler, json_response
from functions.triggers import traced_trigger
from lib.adapters.storage.queues import GRAPH_NOTIFICATIONS_QUEUE, SYNC_REQUESTS_QUEUE
from lib.core import telemetry

bp = func.Blueprint()
log = logging.getLogger("slotbridge.sync")


@bp.route(
    route="users/{userId}/connections/{connectionId}/sync",
    methods=["POST"],
    auth_level=func.AuthLevel.ANONYMOUS,
)
@api_handler
def sync_now(req: func.HttpRequest) -> func.HttpResponse:
    from lib.api.connections import SyncQueued
    from lib.features.sync import connection_events

    user_id, connection_id = req.route_params["userId"], req.route_params["connectionId"]
    principal_for_user(req, user_id)
    connection_events.sync_now(user_id, connection_id)
    return json_response(SyncQueued(status="queued", connection_id=connection_id).wire(), status=202)


@bp.queue_trigger(arg_name="msg", queue_name=GRAPH_NOTIFICATIONS_QUEUE, connection="AzureWebJobsStorage")
@traced_trigger("queue")
def process_graph_notice(msg: func.QueueMessage) -> None:
    from lib.features.sync import processor
    from lib.features.sync.messages import GraphNotice, MalformedMessage

    try:
        notice = GraphNotice.from_body(msg.get_body())
    except MalformedMessage as error:
        log.error("Graph notice %s is malformed (%s); dropped", msg.id, error)
        return
    telemetry.annotate(connection_id=notice.connection_id, subscription_id=notice.subscription_id)
    outcome = processor.process_notice(notice)
    log.info("graph_notice kind=%s outcome=%s", notice.kind.value, outcome)


@bp.queue_trigger(arg_name="msg", queue_name=SYNC_REQUESTS_QUEUE, connection="AzureWebJobsStorage")
@traced_trigger("queue")
def process_sync_request(msg: func.QueueMessage) -> None:
    from lib.features.sync import sync_requests
    from lib.features.sync.messages import MalformedMessage, SyncRequest

    try:
        request = SyncRequest.from_body(msg.get_body())
    except MalformedMessage as error:
        log.error("Sync request %s is malformed (%s); dropped", msg.id, error)
        return
    telemetry.annotate(connection_id=request.connection_id)
    outcome = sync_requests.process(request)
    log.info("sync_request reason=%s outcome=%s", request.reason, outcome)


@bp.timer_trigger(arg_name="timer", schedule="%SLOTBRIDGE_SUBSCRIPTION_RENEWAL_SCHEDULE%")
@traced_trigger("timer")
def renew_subscriptions(timer: func.TimerRequest) -> None:
    from lib.features.sync import renewal

    renewal.renew_expiring()


@bp.timer_trigger(arg_name="timer", schedule="%SLOTBRIDGE_SYNC_RECONCILE_SCHEDULE%")
@traced_trigger("timer")
def reconcile_sync(timer: func.TimerRequest) -> None:
    from lib.features.housekeeping import reconcile

    reconcile.enqueue_all()


@bp.timer_trigger(arg_name="timer", schedule="%SLOTBRIDGE_POISON_CHECK_SCHEDULE%")
@traced_trigger("timer")
def check_poison_queues(timer: func.TimerRequest) -> None:
    from lib.features.housekeeping import poison_queues

    poison_queues.report()
