"""Small builders shared by the availability tests (not a conftest: plain imports)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from lib.engine import (
    BusyInterval,
    DateOverride,
    LinkRules,
    ShowAs,
    Slot,
    TimeRange,
    WeeklyHours,
    free_slots,
    render_slot,
    validate_link_rules,
)

MONDAY, TUESDAY, WEDNESDAY, THURSDAY, FRIDAY, SATURDAY, SUNDAY = range(7)


def hours(*pairs: tuple[str, str]) -> list[TimeRange]:
    return [TimeRange.parse(start, end) for start, end in pairs]


def rules(
    weekly: Mapping[int, Iterable[TimeRange]],
    time_zone: str = "UTC",
    *,
    duration: int = 30,
    step: int | None = None,
    overrides: Iterable[DateOverride] = (),
    **options: Any,
) -> LinkRules:
    return validate_link_rules(
        LinkRules(
            duration_minutes=duration,
            slot_step_minutes=step if step is not None else duration,
            weekly_hours=WeeklyHours.from_mapping(weekly),
            time_zone=time_zone,
            date_overrides=tuple(overrides),
            **({"horizon_days": 730} | options),
        )
    )


def utc(text: str) -> datetime:
    """ "2026-03-08T07:00" -> aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def local_day_window(day: date, zone: str, days: int = 1) -> tuple[datetime, datetime]:
    """UTC bounds of local midnight..midnight `days` later (as a booking page would ask)."""
    tz = ZoneInfo(zone)
    start = datetime.combine(day, time()).replace(tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=days), time()).replace(tzinfo=tz).astimezone(UTC)
    return start, end


def busy(start: str, end: str, show_as: ShowAs = ShowAs.BUSY) -> BusyInterval:
    return BusyInterval(utc(start), utc(end), show_as)


def slots_on(
    link: LinkRules,
    day: date,
    *,
    busy_intervals: Iterable[BusyInterval] = (),
    now: datetime | None = None,
    days: int = 1,
    **options: Any,
) -> list[Slot]:
    """Free slots of `days` local days from `day`; by default asked the day before."""
    start, end = local_day_window(day, link.time_zone, days)
    asked_at = now if now is not None else start - timedelta(days=1)
    return free_slots(link, busy_intervals, start, end, asked_at, **options)


def shown(slots: Iterable[Slot], zone: str) -> list[str]:
    """Slots as a viewer in `zone` reads them: "HH:MM+off-HH:MM+off" (dates dropped for brevity)."""
    tz = ZoneInfo(zone)
    out = []
    for slot in slots:
        view = render_slot(slot, tz)
        out.append(f"{view.start[11:16]}{view.start[19:]}-{view.end[11:16]}{view.end[19:]}")
    return out


def starts(slots: Iterable[Slot], zone: str) -> list[str]:
    """Local start wall times "YYYY-MM-DD HH:MM" in `zone`."""
    tz = ZoneInfo(zone)
    return [s.start_utc.astimezone(tz).strftime("%Y-%m-%d %H:%M") for s in slots]
