"""A link's event content: templates checked when the link is saved (every fault named by its field),
rendered with every placeholder, and stored templates rendered as well as they can be."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from lib.api.links import Link
from lib.core.errors import ValidationFailed
from lib.features.links.config import LinkConfig, link_config_from_json
from lib.features.links.templates import (
    DEFAULT_BODY_TEMPLATE,
    BookingFacts,
    EventTemplates,
    render,
    render_event_text,
)

from .test_link_config import body

FACTS = BookingFacts(
    booking_id="b-1",
    title="Intro",
    attendee_name="Ada Lovelace",
    attendee_email="ada@example.com",
    start_utc=datetime(2030, 7, 1, 8, 0, tzinfo=UTC),
    end_utc=datetime(2030, 7, 1, 8, 30, tzinfo=UTC),
    time_zone="Europe/Berlin",
    attendee_time_zone="America/New_York",
    manage_url="https://sb.example/api/book/manage/b-1#token=t",
    notes="Bring the numbers",
)


def problems(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as raised:
        link_config_from_json("intro", data)
    return {e.field: e.message for e in raised.value.errors}


def test_every_placeholder_is_rendered_in_subject_and_body() -> None:
    templates = EventTemplates(
        subject="{title}: {attendeeName} at {start} ({timeZone})",
        body=(
            "{attendeeName} <{attendeeEmail}>\n{start} - {end} {timeZone}\n"
            "{attendeeStart} - {attendeeEnd} {attendeeTimeZone}\n"
            "Prep: {productUrl}\nManage: {manageUrl}\nId {bookingId}\n{{literal}}\nNotes: {notes}"
        ),
        product_url="https://product.example/prep/{bookingId}?from=slotbridge",
    )
    subject, text = render_event_text(templates, FACTS)
    assert subject == "Intro: Ada Lovelace at Monday 1 July 2030, 10:00 (Europe/Berlin)"
    assert text == (
        "Ada Lovelace <ada@example.com>\n"
        "Monday 1 July 2030, 10:00 - Monday 1 July 2030, 10:30 Europe/Berlin\n"
        "Monday 1 July 2030, 04:00 - Monday 1 July 2030, 04:30 America/New_York\n"
        "Prep: https://product.example/prep/b-1?from=slotbridge\n"
        "Manage: https://sb.example/api/book/manage/b-1#token=t\nId b-1\n{literal}\n"
        "Notes: Bring the numbers"  # placed: not added again
    )


def test_the_default_text_is_slotbridges_with_the_notes_after_it() -> None:
    subject, text = render_event_text(EventTemplates(), FACTS)
    assert subject == "Intro with Ada Lovelace"
    assert text == (
        "Intro - booked through Slotbridge.\n\n"
        "Reschedule or cancel: https://sb.example/api/book/manage/b-1#token=t\n\n"
        "Notes from the attendee:\nBring the numbers"
    )


def test_a_subject_is_one_line_of_at_most_255_characters() -> None:
    subject, _ = render_event_text(EventTemplates(subject="{notes} " + "x" * 300), FACTS)
    assert subject.startswith("Bring the numbers x") and len(subject) == 255


def test_a_stored_template_from_older_rules_still_renders() -> None:
    # Before templates were checked for braces, a stray brace could be stored: it stays text.
    assert render("{title} } {nope} {", {"title": "Intro"}) == "Intro } {nope} {"


def test_event_content_fields_round_trip_and_answer() -> None:
    config = link_config_from_json(
        "intro",
        body(
            subjectTemplate="Prep for {title}",
            bodyTemplate="Line 1\n\tLine 2 {productUrl}",
            productUrl="https://product.example/prep/{bookingId}",
            privateEvent=True,
        ),
    )
    assert LinkConfig.from_record(config.to_record(datetime.now(UTC))) == config
    answer = Link.of(config).wire()
    assert answer["bodyTemplate"] == "Line 1\n\tLine 2 {productUrl}"
    assert answer["productUrl"] == "https://product.example/prep/{bookingId}"
    assert answer["privateEvent"] is True
    plain = Link.of(link_config_from_json("intro", body())).wire()
    assert plain["bodyTemplate"] == DEFAULT_BODY_TEMPLATE and plain["privateEvent"] is False
    assert "productUrl" not in plain


@pytest.mark.parametrize(
    ("changes", "field", "says"),
    [
        ({"subjectTemplate": "{title} with {attendee}"}, "subjectTemplate", "{attendee} is not known"),
        ({"bodyTemplate": "Hi {attendeeName"}, "bodyTemplate", "unbalanced brace"),
        ({"bodyTemplate": "Hi } there"}, "bodyTemplate", "unbalanced brace"),
        ({"bodyTemplate": "{a b}"}, "bodyTemplate", "a placeholder is not known"),
        ({"subjectTemplate": "two\nlines"}, "subjectTemplate", ""),
        ({"subjectTemplate": "x" * 256}, "subjectTemplate", "255"),
        ({"bodyTemplate": "x" * 4001}, "bodyTemplate", "4000"),
        ({"bodyTemplate": "bell \x07"}, "bodyTemplate", ""),
        ({"bodyTemplate": 5}, "bodyTemplate", ""),
        ({"bodyTemplate": "Prep: {productUrl}"}, "bodyTemplate", "no productUrl"),
        ({"productUrl": "https://p.example/{slug}"}, "productUrl", "{slug} is not known"),
        ({"productUrl": "http://p.example/prep"}, "productUrl", "https"),
        ({"productUrl": "javascript:alert(1)"}, "productUrl", "https"),
        ({"productUrl": "/prep/{bookingId}"}, "productUrl", "https"),
        ({"productUrl": "https://p.example/" + "x" * 2000}, "productUrl", "2000"),
        ({"privateEvent": "yes"}, "privateEvent", "true or false"),
    ],
)
def test_bad_event_content_is_named_by_its_field(changes: dict[str, Any], field: str, says: str) -> None:
    found = problems(body(**changes))
    assert field in found and says in found[field]


def test_a_bad_product_url_is_reported_once_not_again_by_the_templates_using_it() -> None:
    found = problems(body(productUrl="ftp://p.example/{bookingId}", bodyTemplate="{productUrl}"))
    assert set(found) == {"productUrl"}


def test_a_product_url_on_loopback_may_be_http() -> None:
    config = link_config_from_json("intro", body(productUrl="http://127.0.0.1:3000/prep/{bookingId}"))
    assert config.product_url == "http://127.0.0.1:3000/prep/{bookingId}"
