"""All-day and multi-day Outlook events as busy time.

Graph returns an all-day event's start and end as bare midnights ("2026-03-08T00:00:00.0000000",
end exclusive) that mean local days of the MAILBOX owner, whatever zone the request asked for. So
the block is from the start of the first local day to the start of the day after the last one, in
the mailbox's zone; a host in Sydney with an all-day event blocks Sydney's day, not UTC's.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from lib.engine.busy import BusyInterval
from lib.engine.local_time import start_of_local_day_utc
from lib.engine.show_as_policy import ShowAs


def all_day_busy_interval(
    first_day: date | datetime,
    end_day_exclusive: date | datetime,
    mailbox_zone: ZoneInfo,
    show_as: ShowAs = ShowAs.BUSY,
) -> BusyInterval:
    """The UTC interval covering local days [first_day, end_day_exclusive) in `mailbox_zone`.

    Datetimes are reduced to their date (Graph's midnights). An end not after the start (bad
    data) still blocks the first day: failing closed is better than offering a booked day.
    """
    first = _as_date(first_day)
    end = max(_as_date(end_day_exclusive), first + timedelta(days=1))
    return BusyInterval(
        start_of_local_day_utc(first, mailbox_zone),
        start_of_local_day_utc(end, mailbox_zone),
        show_as,
    )


def _as_date(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value
