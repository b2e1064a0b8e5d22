"""Poison queues against Azurite: every message listed (more than a peek's 32) and given back,
shown without secrets, replayed to its queue exactly once, also by two operators at once; the
operator command (`python -m lib.adapters.storage.poison`) on the app's queues."""

from __future__ import annotations

import base64
import json
import threading
import uuid

import pytest
from azure.storage.queue import QueueClient, QueueServiceClient, TextBase64EncodePolicy

from devstack.azurite import Azurite
from lib.adapters.storage.poison import PoisonQueues, ReplayReport, main
from lib.adapters.storage.queues import OUTBOX_QUEUE

SECRET_STATE = "client-state-that-must-not-show"
TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.payload.sig"


def _service(azurite: Azurite) -> QueueServiceClient:
    return QueueServiceClient.from_connection_string(azurite.connection_string)


def _queue(azurite: Azurite, name: str) -> QueueClient:
    # As the host writes (and moves to poison): base64 text.
    client = _service(azurite).get_queue_client(name, message_encode_policy=TextBase64EncodePolicy())
    try:
        client.create_queue()
    except Exception:  # already there
        pass
    return client


def _texts(azurite: Azurite, name: str) -> list[str]:
    client = _service(azurite).get_queue_client(name)
    return [base64.b64decode(m.content).decode() for m in client.peek_messages(max_messages=32)]


@pytest.fixture
def queue() -> str:
    return "q" + uuid.uuid4().hex[:12]


def test_every_message_is_listed_redacted_and_given_back(azurite: Azurite, queue: str) -> None:
    poison = _queue(azurite, f"{queue}-poison")
    for n in range(39):
        poison.send_message(json.dumps({"n": n}))
    secret = json.dumps(
        {"clientState": SECRET_STATE, "note": f"for ada@example.com, Bearer {TOKEN}", "connection_id": "c1"}
    )
    secret_id = poison.send_message(secret).id

    listed = PoisonQueues(_service(azurite), [queue]).messages()

    assert len(listed) == 40 and {m.queue for m in listed} == {queue}
    shown = next(m for m in listed if m.message_id == secret_id).body
    assert SECRET_STATE not in shown and "ada@example.com" not in shown and TOKEN not in shown
    assert json.loads(shown) == {
        "clientState": "<redacted>",
        "note": "for <email>, Bearer <redacted>",
        "connection_id": "c1",
    }
    # Looking took nothing away: all 40 are visible again at once.
    assert len(PoisonQueues(_service(azurite), [queue]).messages()) == 40
    only = PoisonQueues(_service(azurite), [queue]).messages(queue, secret_id)
    assert [m.message_id for m in only] == [secret_id]


def test_a_replay_moves_the_message_back_unchanged_and_only_once(azurite: Azurite, queue: str) -> None:
    poison = _queue(azurite, f"{queue}-poison")
    _queue(azurite, queue)
    original = json.dumps({"userId": "u1", "messageId": "m1"})
    message_id = poison.send_message(original).id
    kept = poison.send_message(json.dumps({"userId": "u2"})).id
    queues = PoisonQueues(_service(azurite), [queue])

    first = queues.replay(queue, [message_id])
    assert (first.replayed, first.not_found) == ([(queue, message_id)], [])
    assert _texts(azurite, queue) == [original]  # the host's base64, byte for byte
    assert [m.message_id for m in queues.messages(queue)] == [kept]

    again = queues.replay(queue, [message_id])
    assert (again.replayed, again.not_found) == ([], [(queue, message_id)])
    assert _texts(azurite, queue) == [original]


def test_two_replays_at_once_replay_each_message_once(azurite: Azurite, queue: str) -> None:
    poison = _queue(azurite, f"{queue}-poison")
    _queue(azurite, queue)
    sent = {poison.send_message(json.dumps({"n": n})).id for n in range(24)}
    reports: list[ReplayReport] = []

    def replay_all() -> None:
        reports.append(PoisonQueues(_service(azurite), [queue]).replay(queue))

    threads = [threading.Thread(target=replay_all) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    replayed = [m for report in reports for _, m in report.replayed]
    assert sorted(replayed) == sorted(sent)  # each once, between them
    properties = _service(azurite).get_queue_client(queue).get_queue_properties()
    assert properties.approximate_message_count == 24
    assert PoisonQueues(_service(azurite), [queue]).messages() == []


def test_the_operator_command_on_the_apps_queues(
    azurite: Azurite, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"AzureWebJobsStorage": azurite.connection_string}
    poison = _queue(azurite, f"{OUTBOX_QUEUE}-poison")
    outbox = _queue(azurite, OUTBOX_QUEUE)
    body = json.dumps({"userId": "ada@example.com", "messageId": uuid.uuid4().hex})
    message_id = poison.send_message(body).id

    assert main(["list"], env) == 0
    out = capsys.readouterr().out
    assert "graph-notifications-poison:" in out and "sync-requests-poison:" in out
    assert message_id in out and "ada@example.com" not in out and "<email>" in out

    assert main(["show", "outbox-poison", message_id], env) == 0
    assert "<email>" in capsys.readouterr().out

    assert main(["replay", "outbox", message_id], env) == 0
    assert capsys.readouterr().out == f"replayed outbox {message_id}\n"
    assert main(["replay", "outbox", message_id], env) == 1
    assert "already replayed" in capsys.readouterr().out
    assert main(["show", "outbox", message_id], env) == 1
    capsys.readouterr()

    assert main(["show", "not-a-queue", "x"], env) == 2
    assert "unknown queue" in capsys.readouterr().err
    assert main(["list"], {}) == 2
    assert "AzureWebJobsStorage" in capsys.readouterr().err

    # Leave the shared outbox queue as found.
    for message in outbox.receive_messages(max_messages=32):
        if base64.b64decode(message.content).decode() == body:
            outbox.delete_message(message)
