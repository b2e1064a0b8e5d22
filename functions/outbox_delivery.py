"""Queue trigger: deliver one outbox message to the product's webhook (retried by the queue)."""

from __future__ import annotations

import json
import logging

import azure.functions as func

from lib.adapters.storage.queues import OUTBOX_QUEUE

bp = func.Blueprint()
log = logging.getLogger("slotbridge.outbox")


@bp.queue_trigger(arg_name="msg", queue_name=OUTBOX_QUEUE, connection="AzureWebJobsStorage")
def deliver_outbox_message(msg: func.QueueMessage) -> None:
    try:
        ref = json.loads(msg.get_body())
        user_id, message_id = str(ref["userId"]), str(ref["messageId"])
    except (ValueError, KeyError, TypeError):
        log.error("Outbox queue message %s is malformed; dropped", msg.id)
        return
    from lib.features.outbox import service as outbox

    outbox.deliver(user_id, message_id)
