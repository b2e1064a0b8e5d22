"""The page `GET|POST /auth/callback` answers with: for popups, a tiny page that tells its opener the
result through `postMessage` (to the allowed origin only) and closes itself; for redirects, a 303
to the return URL with the result in the query; for the admin-consent link, a page telling the
administrator whether the approval worked. No third-party resources, `Referrer-Policy:
no-referrer`, a strict CSP with a per-response nonce, and every text escaped."""

from __future__ import annotations

import html
import json
import secrets
from urllib.parse import urlencode, urlsplit, urlunsplit

import azure.functions as func

from lib.core.errors import Problem
from lib.features.connections.connect_flow import AdminConsentOutcome, CallbackOutcome
from lib.features.connections.records import ConnectMode

MESSAGE_TYPE = "slotbridge:connect"


def _headers(nonce: str | None = None, *, with_script: bool = False) -> dict[str, str]:
    allowed = f"'nonce-{nonce}'" if nonce else "'none'"
    script = allowed if with_script else "'none'"
    return {
        "Content-Type": "text/html; charset=utf-8",
        "Content-Security-Policy": (
            f"default-src 'none'; script-src {script}; style-src {allowed}; base-uri 'none'; "
            "form-action 'none'; frame-ancestors 'none'"
        ),
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
    }


def _result(outcome: CallbackOutcome) -> dict[str, str]:
    if outcome.connection is not None:
        return {"status": "connected", "connectionId": outcome.connection.connection_id}
    assert outcome.error is not None
    problem = Problem.from_error(outcome.error).to_dict()
    result = {"status": "error", "code": outcome.error.code, "message": outcome.error.detail}
    if "adminConsentUrl" in problem:
        result["adminConsentUrl"] = str(problem["adminConsentUrl"])
    return result


def _with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = f"{parts.query}&{urlencode(params)}" if parts.query else urlencode(params)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def render(outcome: CallbackOutcome) -> func.HttpResponse:
    result = _result(outcome)
    status = 200 if outcome.connection is not None else (outcome.error.status if outcome.error else 400)
    if outcome.mode is ConnectMode.REDIRECT and outcome.return_url:
        redirect = {"slotbridge_connect": result["status"]}
        if "connectionId" in result:
            redirect["connectionId"] = result["connectionId"]
        if "code" in result:
            redirect["code"] = result["code"]
        return func.HttpResponse(
            status_code=303,
            headers={**_headers(), "Location": _with_query(outcome.return_url, redirect)},
        )
    nonce = secrets.token_urlsafe(16)
    title = "Connected" if result["status"] == "connected" else "Could not connect"
    text = (
        "Your calendar account is connected. You can close this window."
        if result["status"] == "connected"
        else result["message"]
    )
    consent = result.get("adminConsentUrl")
    consent_html = (
        f'<p>Administrator approval link: <a href="{html.escape(consent)}">{html.escape(consent)}</a></p>'
        if consent
        else ""
    )
    script = ""
    if outcome.mode is ConnectMode.POPUP and outcome.opener_origin:
        # JSON inside <script>: escape "<" so no text can close the element.
        payload = json.dumps({"type": MESSAGE_TYPE, **result}).replace("<", "\\u003c")
        target = json.dumps(outcome.opener_origin).replace("<", "\\u003c")
        script = (
            f'<script nonce="{nonce}">'
            f"if (window.opener) {{ window.opener.postMessage({payload}, {target}); window.close(); }}"
            "</script>"
        )
    return _page(title, text, status, nonce, extra_html=consent_html, script=script)


def _page(
    title: str, text: str, status: int, nonce: str, *, extra_html: str = "", script: str = ""
) -> func.HttpResponse:
    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title>"
        f'<style nonce="{nonce}">body{{font-family:system-ui,sans-serif;margin:2rem;color:#1b1b1b}}</style>'
        f'</head><body><main><h1>{html.escape(title)}</h1><p id="message">{html.escape(text)}</p>'
        f"{extra_html}</main>{script}</body></html>"
    )
    return func.HttpResponse(body, status_code=status, headers=_headers(nonce, with_script=bool(script)))


def render_admin_consent(outcome: AdminConsentOutcome) -> func.HttpResponse:
    """Where the admin-consent link lands: no script (nobody to tell), just the result in words."""
    nonce = secrets.token_urlsafe(16)
    if outcome.error is None:
        return _page(
            "Slotbridge is approved",
            "The approval worked: Slotbridge may now use Outlook calendars for people in your organisation. "
            "They can connect their Outlook calendar now (Connect Outlook in the calendar settings). You "
            "can close this window.",
            200,
            nonce,
        )
    return _page("Slotbridge was not approved", outcome.error.detail, outcome.error.status, nonce)
