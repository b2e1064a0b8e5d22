"""`GET /links/{slug}/availability`: the slots a booking page offers, with busy time fetched from a
`BusySource` (the busy cache, else the host's provider read live) and the pure slot engine doing
the rest.

Steps: validate the query (dates in order, at most 62 days, a known viewer time zone); load the
link; compute the open candidate slots (hours, notice, horizon) with no busy time - none means no
calendar read at all; read the busy time of every host whose provider reads calendars (`microsoft`,
not `none`) concurrently, only over the span the candidates and buffers need; leave out every
host that could not be read (fail closed: their time is not offered, and the answer lists them);
subtract; union over a round-robin pool. A host's bookings and the freshness of its calendars come
from one request to its partition (`HostPartitions`).

Disclosure: the route is anonymous, so host user ids and e-mail addresses never appear in the
answer. A degraded host is named by its position in the link's host list (`hostIndex`), which the
link's owner can map through the management API and a visitor cannot; problem codes stay in logs.

Fail closed, whatever the reason: `degradedHosts` (and `complete: false`, on which the booking page
says "some calendars could not be checked just now, try again") lists every `microsoft` host whose
busy time nobody can vouch for - a calendar that could not be read, a connection that needs
reconnecting, and a host with no Microsoft account connected at all (never, or every one
disconnected): its weekly hours are not its free time. The log and the management view
(`GET /links`, `hostStatus`) say which (`not_connected`, `needs_reconnect`...); provider `none` is
the explicit way to offer weekly hours alone.

Bounded: one answer reads and holds at most `busy_budget.MAX_HOST_INTERVALS` busy intervals of a
host over the asked range (each reader stops at the cap) and `MAX_ANSWER_INTERVALS` of all hosts
together; a host over either is degraded with the reason `too_much_busy_time` (a shorter range may
answer), every other cause is `unavailable`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Final, Literal

from lib.core.errors import FieldError, SlotbridgeError, ValidationFailed
from lib.core.input_rules import day_in_range
from lib.core.parallel import map_concurrently, run_both
from lib.core.timezones import parse_iana_zone
from lib.engine import busy_budget
from lib.engine.busy_budget import TOO_MUCH_BUSY_TIME, IntervalBudget
from lib.engine.busy_source import BusySource, CalendarRef, HostBusy
from lib.engine.local_time import start_of_local_day_utc
from lib.engine.round_robin import pool_free_slots
from lib.engine.show_as_policy import ShowAsPolicy
from lib.engine.slot import Slot
from lib.engine.slot_engine import HostBusyTime, free_slots_by_host, open_candidates
from lib.features.availability.cached_source import with_cache
from lib.features.availability.host_partition import HostPartitions
from lib.features.bookings.host_bookings import host_bookings, lock_rows_span
from lib.features.connections.busy_time import AccountsBusySource
from lib.features.connections.host_view import NOT_CONNECTED, host_view
from lib.features.links.config import LinkConfig, LinkHost
from lib.features.links.service import load_public_link
from lib.providers.base import CalendarProvider
from lib.providers.registry import provider_for

if TYPE_CHECKING:
    from lib.features.availability.cached_source import FreshnessReader
    from lib.features.availability.host_partition import HostPartitions
    from lib.features.bookings.host_bookings import HostBookings

log = logging.getLogger("slotbridge.availability")

MAX_RANGE_DAYS = 62
MAX_HOSTS_READ_IN_PARALLEL = 8

# The busy source for a link, given where the freshness of a host's calendars is read.
SourceFactory = Callable[[LinkConfig, "FreshnessReader"], BusySource]


# Why a host is degraded, as the answer says it (`degradedHosts[].reason`): its calendars hold more
# busy time over the asked range than one answer may read (a shorter range may answer), or any
# other cause (unreadable, needs reconnect, not connected: the log and `hostStatus` say which).
DegradedReason = Literal["too_much_busy_time", "unavailable"]
UNAVAILABLE: Final = "unavailable"


@dataclass(frozen=True)
class DegradedHost:
    index: int  # the host's position in the link's hosts
    reason: DegradedReason


@dataclass(frozen=True)
class LinkAvailability:
    """A link's free slots over the query's days, and the hosts (by position) not read."""

    slug: str
    query: AvailabilityQuery
    link_time_zone: str
    duration_minutes: int
    slots: tuple[Slot, ...]
    degraded_hosts: tuple[DegradedHost, ...]  # complete when empty


@dataclass(frozen=True)
class AvailabilityQuery:
    first_day: date
    last_day: date  # inclusive
    viewer_time_zone: str


def parse_availability_query(params: Mapping[str, str]) -> AvailabilityQuery:
    """`start`, `end` (YYYY-MM-DD, end inclusive, at most 62 days) and `timezone` (IANA)."""
    problems: list[FieldError] = []
    days: dict[str, date] = {}
    for name in ("start", "end"):
        raw = params.get(name)
        try:
            if raw is None or len(raw) != 10:
                raise ValueError
            day = date.fromisoformat(raw)
        except ValueError:
            problems.append(FieldError(name, "is required: a date in YYYY-MM-DD form"))
            continue
        # The documented range; near date's own limits, local days overflowed as UTC instants.
        if not day_in_range(day, name, problems):
            continue
        days[name] = day
    zone = params.get("timezone")
    if not zone:
        problems.append(FieldError("timezone", "is required: an IANA time zone such as 'Europe/Berlin'"))
    else:
        try:
            parse_iana_zone(zone, field="timezone")
        except ValidationFailed as invalid:
            problems += invalid.errors
    if len(days) == 2:
        if days["end"] < days["start"]:
            problems.append(FieldError("end", "must not be before start"))
        elif (days["end"] - days["start"]).days + 1 > MAX_RANGE_DAYS:
            problems.append(FieldError("end", f"the range is at most {MAX_RANGE_DAYS} days"))
    if problems:
        raise ValidationFailed("The availability query is not valid.", problems)
    return AvailabilityQuery(days["start"], days["end"], str(zone))


class _HostsLiveSource:
    """Each host's calendars read live, each by its own account's provider."""

    def __init__(self, link: LinkConfig) -> None:
        source = AccountsBusySource(link.rules.time_zone)
        self._sources = {host.user_id: source for host in link.hosts if _provider(host).reads_calendars}

    def busy(
        self, user_id: str, calendars: Sequence[CalendarRef], start_utc: datetime, end_utc: datetime
    ) -> HostBusy:
        return self._sources[user_id].busy(user_id, calendars, start_utc, end_utc)


def _provider(host: LinkHost) -> CalendarProvider:
    return provider_for(host.provider)


def _live_source(link: LinkConfig, freshness: FreshnessReader) -> BusySource:
    return with_cache(_HostsLiveSource(link), freshness)


@dataclass(frozen=True)
class _HostOutcome:
    busy: HostBusyTime | None  # None: not vouched for (unreadable, or not connected): fail closed
    errors: tuple[str, ...] = ()
    intervals: int = 0  # how many busy intervals its calendars gave (the answer's budget counts them)

    @property
    def degraded(self) -> bool:
        return self.busy is None

    @property
    def reason(self) -> DegradedReason:
        # Only when size alone stood in the way does a shorter range help.
        too_busy = bool(self.errors) and all(e == TOO_MUCH_BUSY_TIME for e in self.errors)
        return TOO_MUCH_BUSY_TIME if too_busy else UNAVAILABLE


def link_availability(
    slug: str,
    query: AvailabilityQuery,
    *,
    now: datetime | None = None,
    source_factory: SourceFactory = _live_source,
) -> LinkAvailability:
    link = load_public_link(slug)
    viewer_zone = parse_iana_zone(query.viewer_time_zone, field="timezone")
    now = now or datetime.now(UTC)
    window_start = start_of_local_day_utc(query.first_day, viewer_zone)
    window_end = start_of_local_day_utc(query.last_day + timedelta(days=1), viewer_zone)
    rules = link.rules

    candidates = open_candidates(rules, window_start, window_end, now)
    outcomes: dict[int, _HostOutcome] = {}
    if candidates:
        # Only the span a candidate (with its buffers) can touch is read.
        read_start = candidates[0].start_utc - timedelta(minutes=rules.buffer_before_minutes)
        read_end = candidates[-1].end_utc + timedelta(minutes=rules.buffer_after_minutes)
        outcomes = _read_hosts(link, source_factory, read_start, read_end, window_start, window_end)

    readable = {_host_key(i): o.busy for i, o in outcomes.items() if o.busy is not None}
    degraded = [DegradedHost(i, o.reason) for i, o in sorted(outcomes.items()) if o.degraded]
    for host in degraded:
        log.warning(
            "availability of link %s: host %d could not be read (%s); its time is not offered",
            slug,
            host.index,
            ",".join(outcomes[host.index].errors) or "unknown",
        )
    slots: list[Slot] = []
    if readable:
        by_host = free_slots_by_host(rules, readable, window_start, window_end, now, candidates=candidates)
        slots = pool_free_slots(by_host).slots()
    return LinkAvailability(
        link.slug, query, rules.time_zone, rules.duration_minutes, tuple(slots), tuple(degraded)
    )


def _with_bookings(busy: HostBusyTime, booked: HostBookings | None, intervals: int = 0) -> _HostOutcome:
    """The host's busy time plus its bookings (the time its slot locks hold, buffers included, on
    every link of the host) and, for the daily cap, its bookings per local day. Fails closed when
    the bookings could not be read."""
    if booked is None:
        return _HostOutcome(None, ("service_unavailable",))
    combined = HostBusyTime([*busy.busy, *booked.intervals], busy.show_as_policy, booked.per_local_date)
    return _HostOutcome(combined, intervals=intervals)


def _bookings_span(window_start: datetime, window_end: datetime) -> tuple[datetime, datetime]:
    margin = timedelta(days=1)  # local days and buffers at the window's edges
    return window_start - margin, window_end + margin


def _read_bookings(
    link: LinkConfig, index: int, partitions: HostPartitions, window_start: datetime, window_end: datetime
) -> HostBookings | None:
    try:
        rows = partitions.get(link.hosts[index].user_id).locks
        return host_bookings(rows, link.rules.time_zone, *_bookings_span(window_start, window_end))
    except SlotbridgeError as error:
        log.warning("availability: bookings of a host unreadable (%s); its time is not offered", error.code)
        return None


def _host_key(index: int) -> str:
    return f"{index:04d}"


def _read_hosts(
    link: LinkConfig,
    source_factory: SourceFactory,
    start_utc: datetime,
    end_utc: datetime,
    window_start: datetime,
    window_end: datetime,
) -> dict[int, _HostOutcome]:
    """Each host's busy time (Outlook, or nothing for provider `none`) plus its bookings, hosts
    read concurrently, and within a host its calendars and its bookings at once. Then each host's
    intervals are counted against the answer's budget (`busy_budget.MAX_ANSWER_INTERVALS`) in the
    link's order: a host they would take over it is degraded and they are dropped."""
    partitions = HostPartitions(*lock_rows_span(*_bookings_span(window_start, window_end)))
    answer_budget = IntervalBudget(busy_budget.MAX_ANSWER_INTERVALS)
    needs_source = any(_provider(h).reads_calendars for h in link.hosts)
    source = source_factory(link, partitions.freshness) if needs_source else None

    def read(item: tuple[int, LinkHost]) -> tuple[int, _HostOutcome]:
        index, host = item

        def calendars() -> _HostOutcome:
            if not _provider(host).reads_calendars or source is None:
                return _HostOutcome(HostBusyTime([]))
            return _read_host(source, host, start_utc, end_utc)

        # Overlapped: the partition read (which the cached source waits for) and a live Graph read.
        outcome, booked = run_both(
            calendars, lambda: _read_bookings(link, index, partitions, window_start, window_end)
        )
        if outcome.busy is None:
            return index, outcome
        return index, _with_bookings(outcome.busy, booked, outcome.intervals)

    outcomes = dict(map_concurrently(read, enumerate(link.hosts), limit=MAX_HOSTS_READ_IN_PARALLEL))
    # In the link's order, so the same hosts fit on every reload of a page over the budget.
    for index in sorted(outcomes):
        outcome = outcomes[index]
        if outcome.busy is not None and not answer_budget.fits(outcome.intervals):
            outcomes[index] = _HostOutcome(None, (TOO_MUCH_BUSY_TIME,))
    return outcomes


def _read_host(source: BusySource, host: LinkHost, start_utc: datetime, end_utc: datetime) -> _HostOutcome:
    user_id = host.user_id
    try:
        view = host_view(user_id)
    except Exception as error:  # storage trouble: fail closed for this host
        log.warning("availability: calendar settings unreadable (%s)", type(error).__name__)
        return _HostOutcome(None, ("service_unavailable",))
    settings = host.vouched_settings(view)
    if settings is None:
        # Nothing vouches for this host's time (never connected, or disconnected, or the link's
        # own calendars' accounts disconnected): as a broken one.
        return _HostOutcome(None, (NOT_CONNECTED,))
    try:
        policy = ShowAsPolicy.from_names(settings.blocking_show_as)
    except ValueError:
        log.warning("availability: a stored showAs preference is not valid; using the default")
        policy = ShowAsPolicy()
    # The link's own calendars for the host, else the user's: the busy answers are per calendar
    # (the cache's memo is keyed by calendar), so two links of one host never share one.
    refs = host.conflict_refs(settings, view.connections)
    if not refs:
        return _HostOutcome(HostBusyTime([], policy))  # the host chose no conflict calendars
    try:
        host_busy = source.busy(user_id, refs, start_utc, end_utc)
    except Exception:
        log.exception("availability: the busy source failed for a host")
        return _HostOutcome(None, ("outlook_unavailable",))
    if not host_busy.readable:
        return _HostOutcome(None, tuple(host_busy.errors))
    intervals = host_busy.intervals
    # Each reader stops at the cap on its own share (cached and live calendars, each provider's):
    # the host's cap holds for them together.
    if len(intervals) > busy_budget.MAX_HOST_INTERVALS:
        return _HostOutcome(None, (TOO_MUCH_BUSY_TIME,))
    return _HostOutcome(HostBusyTime(intervals, policy), intervals=len(intervals))
