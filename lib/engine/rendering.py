"""Slots as a booking page shows them: ISO 8601 with the viewer's UTC offset."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from lib.core.timezones import parse_iana_zone
from lib.engine.slot import Slot


@dataclass(frozen=True, slots=True)
class SlotInViewerZone:
    start: str  # e.g. "2026-03-08T01:30:00-05:00"
    end: str

    def to_json(self) -> dict[str, str]:
        return {"start": self.start, "end": self.end}


def render_slot(slot: Slot, viewer_zone: ZoneInfo) -> SlotInViewerZone:
    return SlotInViewerZone(
        slot.start_utc.astimezone(viewer_zone).isoformat(timespec="seconds"),
        slot.end_utc.astimezone(viewer_zone).isoformat(timespec="seconds"),
    )


def render_slots(slots: Iterable[Slot], viewer_time_zone: str) -> list[SlotInViewerZone]:
    """Raises `UnknownTimeZone` (validation error on field `timezone`) for a bad viewer zone."""
    zone = parse_iana_zone(viewer_time_zone, field="timezone")
    return [render_slot(slot, zone) for slot in slots]
