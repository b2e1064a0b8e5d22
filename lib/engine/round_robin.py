"""Round-robin pools: a slot is offered if at least one pooled host is free then.

Each offered slot names the hosts free for it, so the booking step can choose one (and re-verify
that host live). Hosts whose calendars could not be read must be left out by the caller (fail
closed), not passed with an empty busy list.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import overload

from lib.engine.slot import Slot
from lib.engine.slot_grid import FreeSlots, SlotGrid, set_bits


@dataclass(frozen=True, slots=True)
class PooledSlot:
    start_utc: datetime
    end_utc: datetime
    free_host_ids: tuple[str, ...]  # sorted, never empty

    @property
    def slot(self) -> Slot:
        return Slot(self.start_utc, self.end_utc)


class PooledSlots(Sequence[PooledSlot]):
    """The union of a pool's free slots, sorted by start. `slots()` is the union alone; a
    `PooledSlot` (with the hosts free for it, which costs a look at every host) is made only when
    read."""

    __slots__ = ("_grid", "_indices", "_masks")

    def __init__(self, grid: SlotGrid, masks: Mapping[str, int]) -> None:
        self._grid = grid
        self._masks = sorted(masks.items())  # sorted hosts give sorted free_host_ids
        union = 0
        for _, mask in self._masks:
            union |= mask
        self._indices = set_bits(union)

    def slots(self) -> list[Slot]:
        return [self._grid.slot(index) for index in self._indices]

    def _pooled(self, index: int) -> PooledSlot:
        start, end = self._grid.starts_ends[index]
        bit = 1 << index
        return PooledSlot(start, end, tuple(host for host, mask in self._masks if mask & bit))

    def __len__(self) -> int:
        return len(self._indices)

    @overload
    def __getitem__(self, index: int) -> PooledSlot: ...
    @overload
    def __getitem__(self, index: slice) -> list[PooledSlot]: ...
    def __getitem__(self, index: int | slice) -> PooledSlot | list[PooledSlot]:
        if isinstance(index, slice):
            return [self._pooled(i) for i in self._indices[index]]
        return self._pooled(self._indices[index])

    def __iter__(self) -> Iterator[PooledSlot]:
        return map(self._pooled, self._indices)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str | bytes):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # compares like a list

    def __repr__(self) -> str:
        return f"PooledSlots({list(self)!r})"


def pool_free_slots(free_slots_by_host: Mapping[str, Sequence[Slot]]) -> PooledSlots:
    """Union of the hosts' free slots, sorted by start, each with its free hosts.

    The engine's `FreeSlots` of one pool share a grid: the union is an OR of their masks. Other
    slot lists are put on a grid of their distinct slots first.
    """
    engine_made = [slots for slots in free_slots_by_host.values() if isinstance(slots, FreeSlots)]
    if engine_made and len(engine_made) == len(free_slots_by_host):
        grid = engine_made[0].grid
        if all(slots.grid is grid for slots in engine_made):
            return PooledSlots(
                grid, dict(zip(free_slots_by_host, (s.mask for s in engine_made), strict=True))
            )
    distinct = sorted({(s.start_utc, s.end_utc) for slots in free_slots_by_host.values() for s in slots})
    index_of = {pair: index for index, pair in enumerate(distinct)}
    masks: dict[str, int] = {}
    for host, slots in free_slots_by_host.items():
        mask = 0
        for s in slots:
            mask |= 1 << index_of[(s.start_utc, s.end_utc)]
        masks[host] = mask
    return PooledSlots(SlotGrid(distinct), masks)
