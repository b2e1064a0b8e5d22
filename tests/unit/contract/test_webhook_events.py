"""openapi.yaml's `webhooks:` documents exactly the events the code posts: the event types of
`lib.features.outbox.event_types` (the only types `outbox.service.post` accepts, which mypy checks
at every call site), each with an entry whose body's `type` is that event and whose example is one."""

from __future__ import annotations

from typing import Any

import pytest

from lib.features.outbox.event_types import EVENT_TYPES
from tests.fixtures.openapi_spec import SPEC


def test_the_spec_documents_every_event_type_the_code_posts_and_no_other() -> None:
    documented = set(SPEC["webhooks"])
    assert set(EVENT_TYPES) - documented == set(), "posted but not documented under webhooks:"
    assert documented - set(EVENT_TYPES) == set(), "documented under webhooks: but never posted"


def _body(type_: str) -> dict[str, Any]:
    body: dict[str, Any] = SPEC["webhooks"][type_]["post"]["requestBody"]["content"]["application/json"]
    return body


@pytest.mark.parametrize("type_", sorted(SPEC["webhooks"]))
def test_each_entry_is_the_event_it_is_named_after(type_: str) -> None:
    body = _body(type_)
    envelope, event = body["schema"]["allOf"]
    assert envelope == {"$ref": "#/components/schemas/WebhookEnvelope"}
    assert event["properties"]["type"] == {"type": "string", "const": type_}
    assert body["example"]["type"] == type_
    headers = {p["$ref"].rsplit("/", 1)[-1] for p in SPEC["webhooks"][type_]["post"]["parameters"]}
    assert headers == {"webhookId", "webhookTimestamp", "webhookSignature"}
