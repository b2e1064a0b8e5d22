"""The intake's logic without HTTP: size limit, verification per item, one message per verified
item, and a queue that cannot be written surfacing as StorageUnavailable (-> 5xx, Graph retries)."""

from __future__ import annotations

import json

import pytest

from lib.adapters.storage.tables import StorageUnavailable
from lib.core.errors import ValidationFailed
from lib.features.sync.client_state import make_client_state
from lib.features.sync.intake import (
    MAX_BODY_BYTES,
    EmptyValidationToken,
    accept_notifications,
    validation_token,
)
from lib.features.sync.messages import GraphNotice, NoticeKind

KEY = b"k" * 32
GOOD = make_client_state("conn-1", "cal-1", KEY)


def _body(*items: dict[str, object]) -> bytes:
    return json.dumps({"value": list(items)}).encode()


def _change(state: str = GOOD, event: str = "e1") -> dict[str, object]:
    return {
        "subscriptionId": "s1",
        "clientState": state,
        "changeType": "created",
        "resourceData": {"id": event},
    }


def test_validation_token() -> None:
    assert validation_token({}) is None
    assert validation_token({"validationToken": "abc def"}) == "abc def"
    with pytest.raises(EmptyValidationToken):
        validation_token({"validationToken": ""})
    with pytest.raises(EmptyValidationToken):
        validation_token({"validationToken": "x" * 5000})


def test_verified_items_each_become_one_notice() -> None:
    sent: list[GraphNotice] = []
    result = accept_notifications(
        _body(_change(event="e1"), _change(GOOD + "x"), _change(event="e2")),
        NoticeKind.CHANGE,
        send=sent.append,
        key=KEY,
    )
    assert (result.accepted, result.dropped) == (2, 1)
    assert [n.event_id for n in sent] == ["e1", "e2"]
    assert all(n.connection_id == "conn-1" and n.kind is NoticeKind.CHANGE for n in sent)


def test_the_lifecycle_endpoint_takes_only_lifecycle_items() -> None:
    sent: list[GraphNotice] = []
    lifecycle = {"subscriptionId": "s1", "clientState": GOOD, "lifecycleEvent": "subscriptionRemoved"}
    unknown = {**lifecycle, "lifecycleEvent": "somethingNew"}
    result = accept_notifications(
        _body(lifecycle, _change(), unknown), NoticeKind.LIFECYCLE, send=sent.append, key=KEY
    )
    assert (result.accepted, result.dropped) == (1, 2)
    assert sent[0].lifecycle_event == "subscriptionRemoved"


def test_a_queue_that_cannot_be_written_propagates() -> None:
    def broken(_: GraphNotice) -> None:
        raise StorageUnavailable("queue down")

    with pytest.raises(StorageUnavailable):
        accept_notifications(_body(_change()), NoticeKind.CHANGE, send=broken, key=KEY)


def test_forged_items_never_reach_the_queue() -> None:
    def never(_: GraphNotice) -> None:
        raise AssertionError("enqueued a forged item")

    result = accept_notifications(
        _body(_change(make_client_state("conn-1", "cal-1", b"o" * 32))),
        NoticeKind.CHANGE,
        send=never,
        key=KEY,
    )
    assert (result.accepted, result.dropped) == (0, 1)


@pytest.mark.parametrize("body", [b"{", b"[]", b'{"value": {}}', b" " * (MAX_BODY_BYTES + 1)])
def test_bodies_that_are_not_collections_are_validation_errors(body: bytes) -> None:
    with pytest.raises(ValidationFailed):
        accept_notifications(body, NoticeKind.CHANGE, send=lambda _: None, key=KEY)


def test_notices_round_trip_through_the_queue_format() -> None:
    notice = GraphNotice(NoticeKind.CHANGE, "s1", "conn-1", "digest", change_type="updated", event_id="e1")
    assert GraphNotice.from_body(json.dumps(notice.to_json()).encode()) == notice
