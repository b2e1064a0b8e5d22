"""HTML of the sign-in and consent page, the admin-consent page and the error page. Plain forms,
no script, no external resources; every dynamic value is escaped."""

from __future__ import annotations

from html import escape

from werkzeug.wrappers import Response

from .state import Account

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;color:#1b1b1b}"
    "fieldset{border:1px solid #ccc;padding:1rem}label{display:block;margin:.4rem 0}"
    "button{margin-right:.6rem;padding:.4rem 1.2rem}.err{color:#a4262c}"
)
_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
}


def _page(title: str, body: str, status: int = 200) -> Response:
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>{body}</body></html>"
    )
    resp = Response(html, status=status, content_type="text/html; charset=utf-8")
    for k, v in _HEADERS.items():
        resp.headers[k] = v
    return resp


def _account_picker(
    title: str,
    intro: str,
    flow_id: str,
    scopes: list[str],
    legend: str,
    accounts: list[Account],
    *,
    empty: str,
    accept: str,
    show_kind: bool,
) -> Response:
    """The sign-in and admin-consent pages: the permissions asked for, a radio per account, and
    Accept/Cancel posting back with the flow id. `intro` is trusted HTML (callers escape values)."""
    if accounts:
        options = "".join(
            f'<label><input type="radio" name="account" value="{escape(a.id)}"'
            f"{' checked' if i == 0 else ''}> {escape(a.display_name)} &lt;{escape(a.email)}&gt;"
            f"{f' ({escape(a.kind)} account)' if show_kind else ''}</label>"
            for i, a in enumerate(accounts)
        )
    else:
        options = f'<p class="err">{escape(empty)}</p>'
    perms = "".join(f"<li>{escape(s)}</li>" for s in scopes)
    body = (
        f"{intro}<ul>{perms}</ul>"
        '<form method="post">'
        f'<input type="hidden" name="flow" value="{escape(flow_id)}">'
        f"<fieldset><legend>{escape(legend)}</legend>{options}</fieldset>"
        f'<p><button type="submit" name="action" value="accept">{escape(accept)}</button>'
        '<button type="submit" name="action" value="cancel">Cancel</button></p>'
        "</form>"
    )
    return _page(title, body)


def sign_in_page(flow_id: str, app_name: str, scopes: list[str], accounts: list[Account]) -> Response:
    return _account_picker(
        "Sign in to your account",
        f"<h1>Sign in (Microsoft sandbox)</h1><p><strong>{escape(app_name)}</strong> wants to:</p>",
        flow_id,
        scopes,
        "Pick an account",
        accounts,
        empty="No account is seeded for this tenant.",
        accept="Accept",
        show_kind=True,
    )


def admin_consent_page(flow_id: str, app_name: str, scopes: list[str], admins: list[Account]) -> Response:
    """An administrator approves the app for everyone in their organisation (tenant-wide consent)."""
    return _account_picker(
        "Permissions requested",
        "<h1>Permissions requested (Microsoft sandbox)</h1>"
        f"<p><strong>{escape(app_name)}</strong> asks an administrator to accept, for the whole "
        "organisation:</p>",
        flow_id,
        scopes,
        "Administrator account",
        admins,
        empty="No work account is seeded for this tenant.",
        accept="Accept for your organisation",
        show_kind=False,
    )


def error_page(code: int, message: str, status: int = 400) -> Response:
    body = (
        "<h1>Sign in</h1><p>Sorry, but we're having trouble signing you in.</p>"
        f'<p class="err">AADSTS{code}: {escape(message)}</p>'
    )
    return _page("Sign in error", body, status)


def form_post_page(action_url: str, params: dict[str, str]) -> Response:
    """response_mode=form_post without script: the user presses Continue to post back to the app."""
    fields = "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in params.items()
    )
    body = (
        "<h1>Continue to the app</h1>"
        f'<form method="post" action="{escape(action_url)}">{fields}'
        '<button type="submit">Continue</button></form>'
    )
    return _page("Working...", body)
