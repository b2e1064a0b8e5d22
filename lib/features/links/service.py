"""Managing booking links: create/replace, list, and read (management and public views).

Who may manage a link (decided here, documented in the README):
- the product backend (API key) may create, replace and list any link;
- a user (user token) may create or replace only a link whose hosts are exactly themselves - both
  the stored link (if any) and the new version. Putting other people in a pool exposes their
  availability on your page, so pools with other hosts are managed by the backend, which knows the
  teams. A user lists the links they host, pools included.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from lib.adapters.storage import storage_account
from lib.adapters.storage.keys import require_user_id
from lib.adapters.storage.tables import AlreadyExists, ConcurrentUpdate, Table
from lib.core.auth import Forbidden, Principal
from lib.core.errors import Conflict, NotFound
from lib.core.ttl_memo import forget, ttl_memo
from lib.features.connections.calendars import check_calendar_choice
from lib.features.connections.host_view import host_view
from lib.features.links.config import LinkConfig, LinkHost, parse_slug
from lib.features.links.records import BookingLinkRecord, LinkHostRecord
from lib.providers.registry import provider_for

ROW = "link"
_PUT_ATTEMPTS = 4


def _links() -> Table[BookingLinkRecord]:
    return storage_account().table(BookingLinkRecord)


def _index() -> Table[LinkHostRecord]:
    return storage_account().table(LinkHostRecord)


def load_link(slug: str) -> LinkConfig:
    """The link, or `NotFound` (also for a slug that could never exist)."""
    try:
        parse_slug(slug)
    except Exception:
        raise NotFound("No booking link has this address.") from None
    record = _links().find(slug, ROW)
    if record is None:
        raise NotFound("No booking link has this address.")
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
# more often than links change, and bookings load the link afresh. A put here forgets at once.
@ttl_memo(5.0)
def load_public_link(slug: str) -> LinkConfig:
    return load_link(slug)


def put_link(principal: Principal, config: LinkConfig) -> bool:
    """Create or replace the link `config.slug`; True if it was created."""
    slug = config.slug
    _require_may_manage(principal, config.host_ids)
    _check_host_calendars(config)
    table = _links()
    previous_hosts: frozenset[str] = frozenset()
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
        _require_may_manage(principal, previous_hosts)
        record.created_at, record.etag = current.created_at, current.etag
        try:
            table.update(record)
            break
        except ConcurrentUpdate:
            continue
    else:
        raise Conflict("The booking link kept changing while it was being saved; try again.")
    _update_index(slug, config.host_ids, previous_hosts - config.host_ids)
    forget(load_public_link, slug)
    return created


def _check_host_calendars(config: LinkConfig) -> None:
    """A host's own calendars must be ones their connections list now, the write calendar one they
    can edit (`validation_error` naming the field, or `calendar_not_writable`): checked against
    Outlook before anything is stored."""
    for index, host in enumerate(config.hosts):
        if host.conflict_calendars is None and host.write_calendar is None:
            continue
        check_calendar_choice(
            host.user_id,
            host.conflict_calendars or (),
            host.write_calendar,
            field_prefix=f"hosts[{index}].",
        )


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
        configs = [LinkConfig.from_record(r) for r in _links().query()]
    else:
        require_user_id(host_user_id)
        configs = []
        for row in _index().query(partition=host_user_id):
            record = _links().find(row.slug, ROW)
            if record is None:
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
        return host_view(host.user_id).status if provider.reads_calendars else provider.name

    return tuple((h.user_id, status(h)) for h in config.hosts)
