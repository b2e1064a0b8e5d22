"""Booking links at the edge: `PUT /links/{slug}` (LinkInput in, Link out), `GET /links` (Links)
and the public view (PublicLink). The body is validated by `link_config_from_json`, whose
field-addressed errors are the contract's; these models describe it and build the answers."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from lib.api.connections import CalendarRef
from lib.core.wire import WireModel
from lib.engine.link_rules_json import link_rules_to_json
from lib.features.connections.calendars import MAX_CONFLICT_CALENDARS
from lib.features.links.config import (
    MAX_HOSTS,
    MAX_LOCATION_LENGTH,
    MAX_TITLE_LENGTH,
    Assignment,
    CalendarProvider,
    LinkConfig,
)
from lib.features.links.service import ManagedLink
from lib.features.links.templates import (
    DEFAULT_BODY_TEMPLATE,
    DEFAULT_SUBJECT_TEMPLATE,
    MAX_BODY_TEMPLATE_LENGTH,
    MAX_PRODUCT_URL_LENGTH,
    MAX_SUBJECT_TEMPLATE_LENGTH,
)

Minutes = Annotated[int, Field(ge=0, le=1440)]
Duration = Annotated[int, Field(ge=5, le=1440)]


class TimeRange(WireModel):
    model_config = ConfigDict(extra="forbid")

    start: str = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    end: str = Field(pattern=r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$")


class LinkHost(WireModel):
    model_config = ConfigDict(extra="forbid")

    user_id: str = Field(min_length=1, max_length=256)
    calendar_provider: CalendarProvider = CalendarProvider.MICROSOFT
    # This link's own calendars for the host (absent: the user's calendar settings).
    conflict_calendars: (
        Annotated[list[CalendarRef], Field(max_length=MAX_CONFLICT_CALENDARS)] | SkipJsonSchema[None]
    ) = None
    write_calendar: CalendarRef | SkipJsonSchema[None] = None


class WeeklyHours(WireModel):
    model_config = ConfigDict(extra="forbid")

    monday: list[TimeRange] = Field(default_factory=list)
    tuesday: list[TimeRange] = Field(default_factory=list)
    wednesday: list[TimeRange] = Field(default_factory=list)
    thursday: list[TimeRange] = Field(default_factory=list)
    friday: list[TimeRange] = Field(default_factory=list)
    saturday: list[TimeRange] = Field(default_factory=list)
    sunday: list[TimeRange] = Field(default_factory=list)


class DateOverride(WireModel):
    date: dt.date
    kind: Literal["dayOff", "replace", "add"]
    ranges: list[TimeRange] = Field(default_factory=list)


class LinkInput(WireModel):
    """The body of `PUT /links/{slug}`; fields not listed are refused (by the validator)."""

    title: str = Field(min_length=1, max_length=MAX_TITLE_LENGTH)
    assignment: Assignment = Assignment.SINGLE
    hosts: list[LinkHost] = Field(min_length=1, max_length=MAX_HOSTS)
    teams_meeting: bool = False
    subject_template: str = Field(DEFAULT_SUBJECT_TEMPLATE, max_length=MAX_SUBJECT_TEMPLATE_LENGTH)
    body_template: str = Field(DEFAULT_BODY_TEMPLATE, max_length=MAX_BODY_TEMPLATE_LENGTH)
    product_url: Annotated[str, Field(max_length=MAX_PRODUCT_URL_LENGTH)] | None = None
    private_event: bool = False
    location: str = Field("", max_length=MAX_LOCATION_LENGTH)
    active: bool = True
    duration_minutes: Duration
    slot_step_minutes: Duration | SkipJsonSchema[None] = None  # absent: the duration
    time_zone: str = Field(min_length=1)
    weekly_hours: WeeklyHours
    date_overrides: list[DateOverride] = Field([], max_length=1000)
    buffer_before_minutes: Minutes = 0
    buffer_after_minutes: Minutes = 0
    minimum_notice_minutes: int = Field(0, ge=0, le=525600)
    horizon_days: int = Field(60, ge=1, le=730)
    daily_cap: int | None = Field(None, ge=1, le=1000)


class HostStatus(WireModel):
    user_id: str
    status: Literal["connected", "not_connected", "needs_reconnect", "calendar_missing", "none"]


class Link(LinkInput):
    """The management view: the stored link, complete (`PUT` answer; `GET /links` adds hostStatus)."""

    slug: str
    assignment: Assignment
    teams_meeting: bool
    private_event: bool
    active: bool
    slot_step_minutes: Duration
    host_status: list[HostStatus] = Field(default_factory=list)

    @classmethod
    def of(cls, config: LinkConfig, host_status: list[HostStatus] | None = None) -> Link:
        fields: dict[str, Any] = {
            "slug": config.slug,
            "title": config.title,
            "assignment": config.assignment,
            "hosts": [h.to_json() for h in config.hosts],
            "teamsMeeting": config.teams_meeting,
            "subjectTemplate": config.subject_template,
            "bodyTemplate": config.body_template,
            "privateEvent": config.private_event,
            "location": config.location,
            "active": config.active,
            **link_rules_to_json(config.rules),
        }
        if config.product_url is not None:
            fields["productUrl"] = config.product_url
        if host_status is not None:
            fields["hostStatus"] = host_status
        return cls.answer(fields)


class Links(WireModel):
    links: list[Link]

    @classmethod
    def of(cls, managed: list[ManagedLink]) -> Links:
        return cls(
            links=[
                Link.of(
                    m.config,
                    [HostStatus.model_validate({"userId": u, "status": s}) for u, s in m.host_status],
                )
                for m in managed
            ]
        )


class PublicLink(WireModel):
    """What an anonymous booking page may see: no host ids, no hours it does not need."""

    slug: str
    title: str
    duration_minutes: int
    time_zone: str
    teams_meeting: bool
    assignment: Assignment

    @classmethod
    def of(cls, config: LinkConfig) -> PublicLink:
        return cls.from_attrs(config, config.rules)
