"""Round-robin pools: a slot is offered if at least one pooled host is free then.

Each offered slot names the hosts free for it, so the booking step can choose one (and re-verify
that host live). Hosts whose calendars could not be read must be left out by the caller (fail
closed), not passed with an empty busy list.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from lib.engine.slot import Slot


@dataclass(frozen=True, slots=True)
class PooledSlot:
    start_utc: datetime
    end_utc: datetime
    free_host_ids: tuple[str, ...]  # sorted, never empty

    @property
    def slot(self) -> Slot:
        return Slot(self.start_utc, self.end_utc)


def pool_free_slots(free_slots_by_host: Mapping[str, Sequence[Slot]]) -> list[PooledSlot]:
    """Union of the hosts' free slots, sorted by start, each with its free hosts.

    One pass grouping by (start, end) - hosts of one link share its slot grid, so the groups are
    few - then a sort of the distinct slots only.
    """
    hosts_by_slot: dict[tuple[datetime, datetime], list[str]] = {}
    for host_id in sorted(free_slots_by_host):  # sorted hosts give sorted free_host_ids
        for slot in free_slots_by_host[host_id]:
            hosts = hosts_by_slot.setdefault((slot.start_utc, slot.end_utc), [])
            if not hosts or hosts[-1] != host_id:
                hosts.append(host_id)
    return [PooledSlot(start, end, tuple(hosts)) for (start, end), hosts in sorted(hosts_by_slot.items())]
