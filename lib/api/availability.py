"""`GET /links/{slug}/availability` at the edge: the query (validated by
`parse_availability_query`, whose messages are the contract's) and the Availability answer, slots
rendered in the viewer's zone."""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from lib.core.wire import DateTimeText, WireModel
from lib.engine.rendering import render_slots
from lib.features.availability.service import DegradedReason, LinkAvailability


class OfferedSlot(WireModel):
    start_utc: DateTimeText
    end_utc: DateTimeText
    start: DateTimeText  # in the viewer's zone, with its offset
    end: DateTimeText


class DegradedHost(WireModel):
    host_index: int = Field(ge=0)
    reason: DegradedReason


class Availability(WireModel):
    slug: str
    start: dt.date
    end: dt.date
    time_zone: str
    link_time_zone: str
    duration_minutes: int
    slots: list[OfferedSlot]
    complete: bool
    degraded_hosts: list[DegradedHost]

    @classmethod
    def of(cls, found: LinkAvailability) -> Availability:
        query = found.query
        shown = render_slots(found.slots, query.viewer_time_zone)
        return cls.from_attrs(
            found,
            start=query.first_day,
            end=query.last_day,
            time_zone=query.viewer_time_zone,
            slots=[
                OfferedSlot(start_utc=_utc(s.start_utc), end_utc=_utc(s.end_utc), start=v.start, end=v.end)
                for s, v in zip(found.slots, shown, strict=True)
            ],
            complete=not found.degraded_hosts,
            degraded_hosts=[DegradedHost(host_index=d.index, reason=d.reason) for d in found.degraded_hosts],
        )


def _utc(instant: dt.datetime) -> str:
    # isoformat is twice as fast as strftime, and an answer renders hundreds of these.
    return instant.astimezone(dt.UTC).isoformat(timespec="seconds")[:19] + "Z"
