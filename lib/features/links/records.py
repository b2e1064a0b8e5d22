"""Stored booking links, and the host -> link index that lets a user list the links they host."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any, ClassVar

from lib.adapters.storage.records import TableRecord


@dataclasses.dataclass(kw_only=True)
class BookingLinkRecord(TableRecord):
    """One booking link (one row per slug). `rules` is `link_rules_to_json`'s shape; `hosts` is
    [{"userId", "calendarProvider"}] in the link's order (what `hostIndex` refers to)."""

    table_kind: ClassVar[str] = "bookinglinks"
    partition_fields: ClassVar[tuple[str, ...]] = ("slug",)
    row_fields: ClassVar[tuple[str, ...]] = ("kind",)

    slug: str
    kind: str = "link"
    title: str
    assignment: str
    hosts: list[dict[str, str]] = dataclasses.field(default_factory=list)
    rules: dict[str, Any] = dataclasses.field(default_factory=dict)
    teams_meeting: bool = False
    # Booking events (issue 6): the subject template ("{title} with {attendeeName}") and location.
    subject_template: str | None = None
    location: str | None = None
    # Event content (issue 17): the body template (None: the default), the product's URL template
    # ({bookingId}) and whether the event is marked private.
    body_template: str | None = None
    product_url: str | None = None
    private_event: bool = False
    # Lifecycle (issue 16): a paused link (`active` false) and a deleted one, kept as a tombstone so
    # its bookings stay manageable and its slug is not silently given to another link.
    active: bool = True
    deleted_at: datetime | None = None
    created_at: datetime
    updated_at: datetime


@dataclasses.dataclass(kw_only=True)
class LinkHostRecord(TableRecord):
    """ "`user_id` hosts `slug`": written after the link, checked against it when listing, so a stale
    row is harmless (the link no longer naming the user hides it)."""

    table_kind: ClassVar[str] = "linkhosts"
    partition_fields: ClassVar[tuple[str, ...]] = ("user_id",)
    row_fields: ClassVar[tuple[str, ...]] = ("slug",)

    user_id: str
    slug: str
