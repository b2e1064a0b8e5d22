"""What the capacity bench's counting proxy takes one storage request for (`bench/capacity/wire.py`)."""

from __future__ import annotations

from bench.capacity.wire import classify

ACCOUNT = "/devstoreaccount1"


def test_a_batch_is_one_transaction_writing_each_of_its_entities() -> None:
    body = b"".join(
        b"--changeset\r\nContent-Type: application/http\r\n"
        b"Content-Transfer-Encoding: binary\r\n\r\nPUT ...\r\n"
        for _ in range(3)
    )
    assert classify("table", "POST", f"{ACCOUNT}/$batch", body, b"") == {"batch": 1, "entities": 3}


def test_table_requests_by_kind() -> None:
    entity = f"{ACCOUNT}/sbbookings(PartitionKey='b1',RowKey='')"
    assert classify("table", "GET", entity, b"", b"") == {"read": 1}
    assert classify("table", "MERGE", entity, b"", b"") == {"write": 1, "entities": 1}
    assert classify("table", "DELETE", entity, b"", b"") == {"delete": 1, "entities": 1}
    assert classify("table", "POST", f"{ACCOUNT}/sbbookings", b"{}", b"") == {"insert": 1, "entities": 1}
    query = f"{ACCOUNT}/sbbookings()?$filter=status%20eq%20'pending'"
    assert classify("table", "GET", query, b"", b"") == {"query": 1}
    assert classify("table", "POST", f"{ACCOUNT}/Tables", b"{}", b"") == {"admin": 1}


def test_an_empty_poll_is_told_from_a_receive() -> None:
    path = f"{ACCOUNT}/outbox/messages?numofmessages=16&visibilitytimeout=600"
    empty = b"<?xml version='1.0'?><QueueMessagesList></QueueMessagesList>"
    two = (
        b"<QueueMessagesList><QueueMessage>a</QueueMessage><QueueMessage>b</QueueMessage></QueueMessagesList>"
    )
    assert classify("queue", "GET", path, b"", empty) == {"empty poll": 1}
    assert classify("queue", "GET", path, b"", two) == {"receive": 1, "received": 2}
    assert classify("queue", "GET", f"{ACCOUNT}/outbox/messages?peekonly=true", b"", two) == {"peek": 1}


def test_queue_writes_by_kind() -> None:
    assert classify("queue", "POST", f"{ACCOUNT}/outbox/messages", b"<x/>", b"") == {"send": 1, "messages": 1}
    assert classify("queue", "DELETE", f"{ACCOUNT}/outbox/messages/id?popreceipt=r", b"", b"") == {
        "delete": 1
    }
    assert classify("queue", "PUT", f"{ACCOUNT}/outbox/messages/id?popreceipt=r", b"", b"") == {"update": 1}
    assert classify("queue", "PUT", f"{ACCOUNT}/outbox", b"", b"") == {"admin": 1}
