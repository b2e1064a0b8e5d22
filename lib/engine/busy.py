"""Busy time of a host as the engine sees it: UTC half-open intervals [start, end) with showAs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from lib.engine.show_as_policy import DEFAULT_SHOW_AS_POLICY, ShowAs, ShowAsPolicy


@dataclass(frozen=True, slots=True)
class BusyInterval:
    start_utc: datetime
    end_utc: datetime
    show_as: ShowAs = ShowAs.BUSY

    def __post_init__(self) -> None:
        require_aware(self.start_utc, "start_utc")
        require_aware(self.end_utc, "end_utc")


def require_aware(value: datetime, name: str) -> None:
    # A naive datetime would be silently read as local server time; refuse it loudly.
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {value!r}")


def blocked_spans(
    busy: Iterable[BusyInterval],
    policy: ShowAsPolicy = DEFAULT_SHOW_AS_POLICY,
    *,
    widen_before: timedelta = timedelta(0),
    widen_after: timedelta = timedelta(0),
) -> list[tuple[datetime, datetime]]:
    """Sorted, disjoint [start, end) spans that the policy says block, each widened by buffers.

    A busy interval widened by `widen_before` at its start and `widen_after` at its end; touching
    or overlapping spans are merged so that a sweep needs to look at only one span per slot.
    One sort, then one linear pass.
    """
    spans = sorted(
        (interval.start_utc - widen_before, interval.end_utc + widen_after)
        for interval in busy
        if interval.end_utc > interval.start_utc and policy.blocks(interval.show_as)
    )
    merged: list[tuple[datetime, datetime]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged
