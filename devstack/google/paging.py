"""List answers in pages: `nextPageToken` while items remain (pages may be short, and empty pages
still carry a token), `nextSyncToken` only on the last page."""

from __future__ import annotations

import dataclasses
from typing import Any

from .state import PageCursor, new_token
from .web import Ctx, GoogleError


def first_page(
    ctx: Ctx,
    header: dict[str, Any],
    calendar_id: str,
    items: list[dict[str, Any]],
    page_size: int,
    next_sync_token: str | None,
) -> dict[str, Any]:
    cfg = ctx.app.config
    cursor = PageCursor(
        calendar_id, items, min(page_size, cfg.max_page_size), cfg.empty_pages, next_sync_token
    )
    return _serve(ctx, header, cursor)


def next_page(ctx: Ctx, header: dict[str, Any], calendar_id: str, token: str) -> dict[str, Any]:
    with ctx.app.state.lock:
        cursor = ctx.app.state.cursors.get(token)
    if cursor is None or cursor.calendar_id != calendar_id:
        raise GoogleError(400, "invalid", "Invalid page token value.")
    return _serve(ctx, header, cursor)


def _serve(ctx: Ctx, header: dict[str, Any], cursor: PageCursor) -> dict[str, Any]:
    body = dict(header)
    if cursor.empty_left > 0:
        items: list[dict[str, Any]] = []
        rest = dataclasses.replace(cursor, empty_left=cursor.empty_left - 1)
    else:
        items = cursor.items[cursor.offset : cursor.offset + cursor.page_size]
        rest = dataclasses.replace(cursor, offset=cursor.offset + cursor.page_size)
    if rest.empty_left > 0 or rest.offset < len(rest.items):
        # Tokens stay valid, so a client may fetch a page again after an error.
        token = new_token("", 24)
        with ctx.app.state.lock:
            ctx.app.state.cursors[token] = rest
        body["nextPageToken"] = token
    elif cursor.next_sync_token is not None:
        body["nextSyncToken"] = cursor.next_sync_token
    body["items"] = items
    return body
