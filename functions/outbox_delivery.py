"""Queue trigger: one attempt at delivering an outbox message to the product's webhook. A failed
attempt re-enqueues itself with the next retry delay (lib.features.outbox.service), so the queue's
own retries and poison queue only catch what broke before the attempt was recorded."""

from __future__ import annotations

import json
import logging

import azure.functions as func

from functions.triggers import traced_trigger
from lib.adapters.storage.queues import OUTBOX_QUEUE
from lib.core import telemetry

bp = func.Blueprint()
log = logging.getLogger("slotbridge.outbox")


@bp.queue_trigger(arg_name="msg", queue_name=OUTBOX_QUEUE, connection="AzureWebJobsStorage")
@traced_trigger("queue")
def deliver_outbox_message(msg: func.QueueMessage) -> None:
    try:
        ref = json.loads(msg.get_body())
        user_id, message_id = str(ref["userId"]), str(ref["messageId"])
    except (ValueError, KeyError, TypeError):
        log.error("Outbox queue message %s is malformed; dropped", msg.id)
        return
    telemetry.annotate(delivery_id=message_id)
    from lib.features.outbox import service as outbox

    outcome = outbox.deliver(user_id, message_id)
    log.info("outbox_delivery message=%s outcome=%s", message_id, outcome)
