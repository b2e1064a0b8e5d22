"""Availability: the pure domain of "when can this link be booked" (no I/O anywhere below).

Modules, one job each:
- link_rules / link_rules_json: a link's scheduling rules, their validation and JSON shape;
- local_time: wall-clock <-> UTC, where the DST decisions live;
- candidate_slots: slots from weekly hours and date overrides;
- busy / show_as_policy / all_day: what blocks a host;
- slot_engine: free slots of each host; slot_grid: a pool's candidates as bits (lazy slots);
  round_robin: the union over a pool;
- rendering: slots in the viewer's time zone.
"""

from lib.engine.all_day import all_day_busy_interval
from lib.engine.busy import BusyInterval
from lib.engine.busy_source import BusySource, CalendarBusy, CalendarRef, HostBusy
from lib.engine.link_rules import (
    DateOverride,
    LinkRules,
    OverrideKind,
    TimeRange,
    WeeklyHours,
    link_rules_problems,
    validate_link_rules,
)
from lib.engine.link_rules_json import link_rules_from_json, link_rules_to_json
from lib.engine.rendering import SlotInViewerZone, render_slot, render_slots
from lib.engine.round_robin import PooledSlot, pool_free_slots
from lib.engine.show_as_policy import DEFAULT_SHOW_AS_POLICY, ShowAs, ShowAsPolicy
from lib.engine.slot import Slot
from lib.engine.slot_engine import HostBusyTime, free_slots, free_slots_by_host

__all__ = [
    "DEFAULT_SHOW_AS_POLICY",
    "BusyInterval",
    "BusySource",
    "CalendarBusy",
    "CalendarRef",
    "DateOverride",
    "HostBusy",
    "HostBusyTime",
    "LinkRules",
    "OverrideKind",
    "PooledSlot",
    "ShowAs",
    "ShowAsPolicy",
    "Slot",
    "SlotInViewerZone",
    "TimeRange",
    "WeeklyHours",
    "all_day_busy_interval",
    "free_slots",
    "free_slots_by_host",
    "link_rules_from_json",
    "link_rules_problems",
    "link_rules_to_json",
    "pool_free_slots",
    "render_slot",
    "render_slots",
    "validate_link_rules",
]
