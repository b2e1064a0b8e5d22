"""Typed errors of a link's lifecycle: paused (`active: false`), deleted, and a deleted link's slug
that a new link may only take when the caller says so."""

from __future__ import annotations

from lib.core.errors import SlotbridgeError


class LinkInactive(SlotbridgeError):
    """The link exists but is paused: it shows nothing, offers no time and takes no booking; its
    existing bookings can still be looked at and cancelled. 409: the link's state, which its
    manager can change back."""

    code = "link_inactive"
    status = 409
    title = "This booking link is paused"


class LinkDeleted(SlotbridgeError):
    """The link was deleted (410 Gone: it will not come back unless its manager reuses the slug)."""

    code = "link_deleted"
    status = 410
    title = "This booking link was deleted"


class SlugDeleted(SlotbridgeError):
    """A PUT would give a deleted link's slug to a new link without `reuseDeletedSlug=true`: pages
    and e-mails still point at that address, so it is not reused silently."""

    code = "slug_deleted"
    status = 409
    title = "This link address belonged to a deleted link"
