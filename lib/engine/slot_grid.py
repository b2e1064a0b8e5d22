"""Slots as bits: a sorted grid of slots shared by a pool, and sets of them as Python ints.

Bit i of a mask is slot i of the grid. Blocking a run of slots is one shift-and-or, the union of a
pool is an `|` per host, and a slot becomes a `Slot` object only when someone reads it (`FreeSlots`
is lazy), so the engine's cost follows the busy intervals, not hosts x slots.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from itertools import compress
from typing import overload

from lib.engine.busy import BusyInterval
from lib.engine.show_as_policy import ShowAsPolicy
from lib.engine.slot import Slot

# Above every instant; lets the sweep read "the slot at index lo" without a bounds check.
_AFTER_EVERYTHING = datetime.max.replace(tzinfo=UTC)


def set_bits(mask: int) -> list[int]:
    """Indices of the set bits of a non-negative int, ascending (C loops only, no per-bit Python)."""
    lowest_first = bin(mask)[:1:-1]
    return list(compress(range(len(lowest_first)), map("1".__eq__, lowest_first)))


class SlotGrid:
    """Slots sorted by start with ascending ends (so one duration), indexed 0..n-1, and what a busy
    interval must miss for each: [start - before, end + after)."""

    __slots__ = ("_days", "_local_dates", "_widened_ends", "_widened_starts", "full", "starts_ends")

    def __init__(
        self,
        starts_ends: Sequence[tuple[datetime, datetime]],
        *,
        local_dates: Sequence[date] = (),
        before: timedelta = timedelta(0),
        after: timedelta = timedelta(0),
    ) -> None:
        self.starts_ends = starts_ends
        self.full = (1 << len(starts_ends)) - 1
        self._local_dates = local_dates
        self._widened_starts = [start - before for start, _ in starts_ends]
        self._widened_starts.append(_AFTER_EVERYTHING)
        self._widened_ends = [end + after for _, end in starts_ends]
        self._days: dict[date, int] | None = None

    def __len__(self) -> int:
        return len(self.starts_ends)

    def blocked(self, busy: Iterable[BusyInterval], policy: ShowAsPolicy) -> int:
        """Slots that overlap a blocking interval of `busy` once widened by the buffers.

        Slot i is blocked by [b0, b1) iff widened_start[i] < b1 and b0 < widened_end[i]; both lists
        ascend, so the blocked slots are one run found by two binary searches - the intervals need
        no sorting or merging, and one that falls outside the hours costs a single search.
        """
        starts, ends = self._widened_starts, self._widened_ends
        last = len(ends)
        # A tuple: membership by identity in C, where a frozenset would hash each enum in Python.
        blocking = tuple(policy.blocking)
        mask = 0
        for interval in busy:
            if interval.show_as not in blocking:
                continue
            begin, end = interval.start_utc, interval.end_utc
            low = bisect_right(ends, begin)
            if starts[low] < end and begin < end:  # an empty interval blocks nothing
                high = bisect_left(starts, end, low + 1, last)
                mask |= ((1 << (high - low)) - 1) << low
        return mask

    def on_days(self, days: Iterable[date]) -> int:
        """Slots whose local date is one of `days`."""
        if self._days is None:
            by_day: dict[date, int] = {}
            for index, day in enumerate(self._local_dates):
                by_day[day] = by_day.get(day, 0) | (1 << index)
            self._days = by_day
        mask = 0
        for day in days:
            mask |= self._days.get(day, 0)
        return mask

    def slot(self, index: int) -> Slot:
        start, end = self.starts_ends[index]
        return Slot(start, end)


class FreeSlots(Sequence[Slot]):
    """Some slots of a grid, sorted by start; a `Slot` is made only when read."""

    __slots__ = ("_indices", "grid", "mask")

    def __init__(self, grid: SlotGrid, mask: int) -> None:
        self.grid = grid
        self.mask = mask
        self._indices: list[int] | None = None

    def _positions(self) -> list[int]:
        if self._indices is None:
            self._indices = set_bits(self.mask)
        return self._indices

    def __len__(self) -> int:
        return self.mask.bit_count()

    @overload
    def __getitem__(self, index: int) -> Slot: ...
    @overload
    def __getitem__(self, index: slice) -> list[Slot]: ...
    def __getitem__(self, index: int | slice) -> Slot | list[Slot]:
        if isinstance(index, slice):
            return [self.grid.slot(i) for i in self._positions()[index]]
        return self.grid.slot(self._positions()[index])

    def __iter__(self) -> Iterator[Slot]:
        return map(self.grid.slot, self._positions())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FreeSlots) and other.grid is self.grid:
            return other.mask == self.mask
        if isinstance(other, Sequence) and not isinstance(other, str | bytes):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable-looking sequence, like a list

    def __repr__(self) -> str:
        return f"FreeSlots({list(self)!r})"
