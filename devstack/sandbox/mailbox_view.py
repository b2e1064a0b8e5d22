"""A read-only HTML view of one sandbox mailbox — `GET /_admin/view/<account>` (oid, Graph id or
e-mail) — so someone clicking through `make run` can see the events a booking made, as Outlook
would show them. Every value is escaped; no script; the same data as `/_admin/accounts/<key>/mailbox`."""

from __future__ import annotations

from html import escape
from typing import Any

from werkzeug.wrappers import Response

from . import events_model as em
from .state import Account
from .web import Ctx, GraphError, route

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}"
    "table{border-collapse:collapse;width:100%;margin-bottom:2rem}"
    "th,td{border-bottom:1px solid #c4c9cf;padding:.4rem .5rem;text-align:left;vertical-align:top}"
    "th{background:#f4f6f8}.muted{color:#505050}a{color:#0b5cad}"
)
_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
}


def _render(event: Any, account: Account) -> dict[str, Any]:
    try:
        return em.render(event, account, account.time_zone)
    except GraphError:  # a zone the sandbox cannot resolve: show UTC rather than nothing
        return em.render(event, account, "UTC")


def _when(item: dict[str, Any]) -> str:
    start = item["start"]["dateTime"][:16].replace("T", " ")
    end = item["end"]["dateTime"][:16].replace("T", " ")
    if item.get("isAllDay"):
        return f"{start[:10]} (all day)"
    return f"{start} to {end[11:] if start[:10] == end[:10] else end}"


def _row(item: dict[str, Any]) -> str:
    attendees = ", ".join(
        f"{a['emailAddress'].get('name', '')} <{a['emailAddress'].get('address', '')}>"
        for a in item.get("attendees") or []
    )
    join = (item.get("onlineMeeting") or {}).get("joinUrl")
    join_html = f'<a href="{escape(join)}">Teams link</a>' if join else ""
    repeats = " (repeats)" if item.get("type") == "seriesMaster" else ""
    return (
        f"<tr><td>{escape(_when(item))}{escape(repeats)}</td><td>{escape(item.get('subject') or '')}</td>"
        f"<td>{escape(item.get('showAs') or '')}</td><td>{escape(attendees)}</td><td>{join_html}</td></tr>"
    )


@route("/_admin/view/<key>", ["GET"])
def mailbox_view(ctx: Ctx, key: str) -> Response:
    state = ctx.app.state
    with state.lock:
        account = state.find_account(key)
        if account is None:
            raise GraphError(404, "NotFound", f"No account '{key}'.")
        sections = []
        for calendar in state.calendars_of(account.id):
            items = [
                _render(e, account)
                for e in state.events.values()
                if e.calendar_id == calendar.id and not e.deleted
            ]
            items.sort(key=lambda i: i["start"]["dateTime"])
            rows = "".join(_row(i) for i in items) or '<tr><td colspan="5" class="muted">No events</td></tr>'
            sections.append(
                f'<h2>{escape(calendar.name)}</h2><table><thead><tr><th scope="col">When</th>'
                '<th scope="col">Subject</th><th scope="col">Show as</th><th scope="col">Attendees</th>'
                f'<th scope="col">Teams</th></tr></thead><tbody>{rows}</tbody></table>'
            )
    title = f"Mailbox of {account.display_name} <{account.email}>"
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body><main>"
        f"<h1>{escape(title)}</h1>"
        f'<p class="muted">Microsoft sandbox, times in {escape(account.time_zone)}. '
        '<a href="">Refresh</a></p>'
        f"{''.join(sections)}</main></body></html>"
    )
    response = Response(html, status=200, content_type="text/html; charset=utf-8")
    for name, value in _HEADERS.items():
        response.headers[name] = value
    return response
