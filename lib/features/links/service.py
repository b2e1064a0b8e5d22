"""Managing booking links: create/replace, list, delete, and read (management and public views).

Who may manage a link (decided here, documented in the README):
- the product backend (API key) may create, replace and list any link;
- a user (user token) may create or replace only a link whose hosts are exactly themselves - both
  the stored link (if any) and the new version. Putting other people in a pool exposes their
  availability on your page, so pools with other hosts are managed by the backend, which knows the
  teams. A user lists the links they host, pools included.
- deleting a link takes the same right as replacing it (its stored hosts).

Lifecycle: a link with `active` false is paused, a deleted one is kept as a tombstone (`deleted_at`).
`load_link` - what the public view, availability, booking and rescheduling read - refuses both
(`link_inactive`, `link_deleted`); a booking's own routes (get, cancel) never load the link, so
existing bookings stay manageable. A deleted link's slug goes to a new link only when the PUT says
`reuseDeletedSlug=true` (`slug_deleted` otherwise): its old booking page and e-mails point there.

A host entry's own calendars are in use like the user's settings: `calendars_for` answers
connections' `link_calendars` hook (installed by `functions/wiring.py`), and a put or delete that
changes them brings the host's calendar health and sync (subscriptions, busy cache) in step.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from lib.adapters.storage import storage_account
from lib.adapters.storage.keys import require_user_id
from lib.adapters.storage.tables import AlreadyExists, ConcurrentUpdate, Table
from lib.core.auth import Forbidden, Principal
from lib.core.errors import Conflict, NotFound
from lib.core.ttl_memo import forget, ttl_memo
from lib.features.connections import calendar_health
from lib.features.connections.calendars import check_calendar_choice
from lib.features.connections.hooks import LinkCalendar
from lib.features.connections.host_view import NOT_CONNECTED, host_view
from lib.features.links.config import LinkConfig, LinkHost, parse_slug
from lib.features.links.errors import LinkDeleted, LinkInactive, SlugDeleted
from lib.features.links.records import BookingLinkRecord, LinkHostRecord
from lib.features.sync import connection_events
from lib.providers.registry import provider_for

log = logging.getLogger("slotbridge.links")

ROW = "link"
_PUT_ATTEMPTS = 4


def _links() -> Table[BookingLinkRecord]:
    return storage_account().table(BookingLinkRecord)


def _index() -> Table[LinkHostRecord]:
    return storage_account().table(LinkHostRecord)


def load_link(slug: str) -> LinkConfig:
    """The link as it offers itself: `NotFound` (also for a slug that could never exist),
    `LinkDeleted`, or `LinkInactive` when it is paused."""
    try:
        parse_slug(slug)
    except Exception:
        raise NotFound("No booking link has this address.") from None
    record = _links().find(slug, ROW)
    if record is None:
        raise NotFound("No booking link has this address.")
    if record.deleted_at is not None:
        raise LinkDeleted("This booking link was deleted. Ask the host for a new one.")
    if not record.active:
        raise LinkInactive("This booking link is paused: it takes no bookings just now.")
    return LinkConfig.from_record(record)


def _require_may_manage(principal: Principal, hosts: frozenset[str]) -> None:
    if principal.is_backend:
        return
    if hosts != {principal.user_id}:
        raise Forbidden(
            "A user token may only manage links whose only host is that user; "
            "links with other hosts are managed by the product backend."
        )


# Links as public availability reads them, remembered briefly per process: booking pages ask far
# more often than links change, and bookings load the link afresh. A put or delete here forgets at
# once; a paused or deleted link is never remembered (`load_link` raises), so other instances stop
# offering its time within the TTL, and no instance ever books it.
@ttl_memo(5.0)
def load_public_link(slug: str) -> LinkConfig:
    return load_link(slug)


def put_link(principal: Principal, config: LinkConfig, *, reuse_deleted_slug: bool = False) -> bool:
    """Create or replace the link `config.slug`; True if it was created (a deleted link's slug
    reused counts as created). `SlugDeleted` unless `reuse_deleted_slug` for a deleted link's slug."""
    slug = config.slug
    _require_may_manage(principal, config.host_ids)
    seen = _check_host_calendars(config)
    table = _links()
    previous_hosts: frozenset[str] = frozenset()
    previous_named: frozenset[str] = frozenset()
    created = False
    for _ in range(_PUT_ATTEMPTS):
        now = datetime.now(UTC)
        record = config.to_record(now)
        current: BookingLinkRecord | None = table.find(slug, ROW)
        if current is None:
            try:
                table.create(record)
                created = True
                break
            except AlreadyExists:
                continue
        previous_hosts = frozenset(h["userId"] for h in current.hosts)
        previous_named = _naming_hosts(LinkConfig.from_record(current))
        # The deleted link's manager decides on its slug too: nobody else takes over its address.
        _require_may_manage(principal, previous_hosts)
        reused = current.deleted_at is not None
        if reused and not reuse_deleted_slug:
            raise SlugDeleted(
                "A deleted booking link had this address; its old page and e-mails still point here. "
                "Choose another slug, or send reuseDeletedSlug=true to give it to this link."
            )
        record.created_at = now if reused else current.created_at
        record.etag = current.etag
        try:
            table.update(record)
            created = reused
            break
        except ConcurrentUpdate:
            continue
    else:
        raise Conflict("The booking link kept changing while it was being saved; try again.")
    _update_index(slug, config.host_ids, previous_hosts - config.host_ids)
    forget(load_public_link, slug)
    _host_calendars_changed(previous_named | _naming_hosts(config), seen)
    return created


def delete_link(principal: Principal, slug: str) -> None:
    """Delete the link: it answers `link_deleted` from now on, leaves its managers' lists, and its
    bookings stay (their manage routes need no link). Deleting a deleted link changes nothing."""
    parse_slug(slug)
    current = _links().find(slug, ROW)
    if current is None:
        raise NotFound("No booking link has this address.")
    hosts = frozenset(h["userId"] for h in current.hosts)
    _require_may_manage(principal, hosts)

    def tombstone(record: BookingLinkRecord) -> BookingLinkRecord | None:
        if record.deleted_at is not None:
            return None
        _require_may_manage(principal, frozenset(h["userId"] for h in record.hosts))
        record.deleted_at = record.updated_at = datetime.now(UTC)
        return record

    try:
        deleted = _links().mutate(slug, ROW, tombstone)
    except ConcurrentUpdate:
        raise Conflict("The booking link kept changing while it was being deleted; try again.") from None
    _update_index(slug, frozenset(), frozenset(h["userId"] for h in deleted.hosts))
    forget(load_public_link, slug)
    _host_calendars_changed(_naming_hosts(LinkConfig.from_record(deleted)), {})


def _check_host_calendars(config: LinkConfig) -> dict[str, dict[tuple[str, str], str]]:
    """A host's own calendars must be ones their connections list now, the write calendar one they
    can edit (`validation_error` naming the field, or `calendar_not_writable`): checked against
    Outlook before anything is stored. Returns each host's named calendars with their names."""
    seen: dict[str, dict[tuple[str, str], str]] = {}
    for index, host in enumerate(config.hosts):
        if host.conflict_calendars is None and host.write_calendar is None:
            continue
        known = check_calendar_choice(
            host.user_id,
            host.conflict_calendars or (),
            host.write_calendar,
            field_prefix=f"hosts[{index}].",
        )
        seen[host.user_id] = {ref: calendar.name for ref, calendar in known.items()}
    return seen


def _naming_hosts(config: LinkConfig) -> frozenset[str]:
    """The hosts this link names calendars of its own for."""
    return frozenset(
        h.user_id for h in config.hosts if h.conflict_calendars is not None or h.write_calendar is not None
    )


def _host_calendars_changed(users: frozenset[str], seen: Mapping[str, Mapping[tuple[str, str], str]]) -> None:
    """The link is stored: the hosts' calendar health follows (calendars just found in Outlook are
    not missing; flags of calendars nothing uses go), and sync subscribes new conflict calendars
    and drops unused ones (queued). Best effort: the link stands, and reconciliation catches up."""
    for user_id in sorted(users):
        try:
            calendar_health.calendars_chosen(user_id, seen.get(user_id, {}))
        except Exception as error:
            log.warning("Calendar health not brought in step with a link (%s)", type(error).__name__)
        connection_events.on_conflict_calendars_changed(user_id)


def calendars_for(user_id: str) -> list[LinkCalendar]:
    """The calendars of the user's that their links name (deleted links name none; a paused link
    still does, since it may be resumed): what connections' `link_calendars` hook asks."""
    found: list[LinkCalendar] = []
    for row in _index().query(partition=user_id):
        record = _links().find(row.slug, ROW)
        if record is None or record.deleted_at is not None:
            continue
        for host in LinkConfig.from_record(record).hosts:
            if host.user_id != user_id:  # the index may lag a change of hosts
                continue
            conflicts = set(host.conflict_calendars or ())
            named = [*(host.conflict_calendars or ())]
            named += [host.write_calendar] if host.write_calendar else []
            for ref in dict.fromkeys(named):
                found.append(LinkCalendar(row.slug, *ref, ref in conflicts, ref == host.write_calendar))
    return found


def _update_index(slug: str, hosts: frozenset[str], removed: frozenset[str]) -> None:
    index = _index()
    for user_id in sorted(hosts):
        index.put(LinkHostRecord(user_id=user_id, slug=slug))  # idempotent row: last writer is fine
    for user_id in sorted(removed):
        stale = index.find(user_id, slug)
        if stale is not None:
            index.delete(stale)


@dataclass(frozen=True)
class ManagedLink:
    """A link as its manager sees it: with each host's calendar status, (userId, status) in host order."""

    config: LinkConfig
    host_status: tuple[tuple[str, str], ...]


def list_links(principal: Principal, host_user_id: str | None = None) -> list[ManagedLink]:
    """Links, by slug: every link for the backend (or those `host_user_id` hosts); a user's own."""
    if not principal.is_backend:
        if host_user_id is not None:
            principal.require_user(host_user_id)
        host_user_id = principal.user_id
    if host_user_id is None:
        configs = [LinkConfig.from_record(r) for r in _links().query() if r.deleted_at is None]
    else:
        require_user_id(host_user_id)
        configs = []
        for row in _index().query(partition=host_user_id):
            record = _links().find(row.slug, ROW)
            if record is None or record.deleted_at is not None:
                continue
            config = LinkConfig.from_record(record)
            if host_user_id in config.host_ids:  # the index may lag a change of hosts
                configs.append(config)
    return [ManagedLink(c, _host_status(c)) for c in sorted(configs, key=lambda c: c.slug)]


def _host_status(config: LinkConfig) -> tuple[tuple[str, str], ...]:
    """Each host's calendar status for the link's manager: `connected`, `not_connected`,
    `needs_reconnect`, `calendar_missing`, or `none` (provider none: weekly hours only). The
    anonymous availability answer never says this; the link's manager may know."""

    def status(host: LinkHost) -> str:
        provider = provider_for(host.provider)
        # A host whose provider reads no calendars has no calendar status: its provider's name says it.
        if not provider.reads_calendars:
            return provider.name
        view = host_view(host.user_id)
        return view.status if host.vouched_settings(view) is not None else NOT_CONNECTED

    return tuple((h.user_id, status(h)) for h in config.hosts)
