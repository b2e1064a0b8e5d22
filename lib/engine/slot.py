"""A bookable slot: a UTC half-open interval [start, end) of real elapsed time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True, order=True)
class Slot:
    start_utc: datetime
    end_utc: datetime
