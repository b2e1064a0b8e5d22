"""A small client for the Google stand-in's admin API, for tests and the demo seed."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from lib.adapters.outbound_http import make_session


class GoogleAdminError(RuntimeError):
    pass


class GoogleAdmin:
    def __init__(self, base_url: str, ca_pem_path: str, timeout: float = 15.0) -> None:
        self.base = base_url.rstrip("/") + "/_admin"
        self.timeout = timeout
        self.session = make_session(ca_pem_path)

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        resp = self.session.request(method, self.base + path, json=body, timeout=self.timeout)
        if resp.status_code >= 400:
            raise GoogleAdminError(f"{method} {path}: {resp.status_code} {resp.text}")
        return resp.json() if resp.content else None

    @staticmethod
    def _q(value: str) -> str:
        return quote(value, safe="")

    # --- whole stand-in --------------------------------------------------------------------------

    def reset(self) -> None:
        self._call("POST", "/reset")

    def settings(self, **changes: Any) -> dict[str, Any]:
        """Read or change run-time settings: max_page_size, empty_pages, conference_pending_reads,
        conference_failure, refresh_token_limit, access_token_lifetime, channel ttls, push retries."""
        return dict(self._call("PATCH" if changes else "GET", "/settings", changes or None))

    def register_client(
        self, client_id: str, client_secret: str, redirect_uris: list[str] | None = None
    ) -> None:
        body = {"client_id": client_id, "client_secret": client_secret, "redirect_uris": redirect_uris or []}
        self._call("POST", "/clients", body)

    # --- users, calendars, events -----------------------------------------------------------------

    def add_user(
        self,
        email: str,
        *,
        name: str | None = None,
        time_zone: str = "America/Los_Angeles",
        grantable_scopes: list[str] | None = None,
        declines_consent: bool = False,
    ) -> dict[str, Any]:
        """A Google account with its primary calendar (id = the address). `grantable_scopes`: the
        calendar scopes the user will grant at most (None: all asked)."""
        body = {
            "email": email,
            "name": name,
            "time_zone": time_zone,
            "grantable_scopes": grantable_scopes,
            "declines_consent": declines_consent,
        }
        return dict(self._call("POST", "/users", body))

    def update_user(self, user: str, **switches: Any) -> dict[str, Any]:
        return dict(self._call("PATCH", f"/users/{self._q(user)}", switches))

    def users(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/users"))

    def add_calendar(
        self,
        user: str,
        summary: str,
        *,
        access_role: str = "owner",
        owner_email: str | None = None,
        time_zone: str | None = None,
        calendar_id: str | None = None,
    ) -> dict[str, Any]:
        """A calendar in `user`'s calendarList with `access_role` (freeBusyReader, reader, writer,
        owner); not owner: another account's calendar shared with them."""
        body = {
            "summary": summary,
            "access_role": access_role,
            "owner_email": owner_email,
            "time_zone": time_zone,
            "id": calendar_id,
        }
        return dict(self._call("POST", f"/users/{self._q(user)}/calendars", body))

    def share_calendar(self, calendar_id: str, email: str, role: str | None) -> dict[str, Any]:
        """Give `email` this role on the calendar (None: take it away)."""
        return dict(
            self._call("POST", f"/calendars/{self._q(calendar_id)}/share", {"email": email, "role": role})
        )

    def update_calendar(self, calendar_id: str, **fields: Any) -> dict[str, Any]:
        """fields: summary, freebusy_error (a reason freeBusy answers for it, e.g. backendError)."""
        return dict(self._call("PATCH", f"/calendars/{self._q(calendar_id)}", fields))

    def delete_calendar(self, calendar_id: str) -> None:
        """As if deleted in Google Calendar: its routes answer 404 and its channels get not_exists."""
        self._call("DELETE", f"/calendars/{self._q(calendar_id)}")

    def invalidate_sync_tokens(self, calendar_id: str) -> None:
        """Sync tokens issued so far for this calendar answer 410 fullSyncRequired."""
        self._call("POST", f"/calendars/{self._q(calendar_id)}/invalidate-sync-tokens")

    def add_event(self, calendar_id: str, **event: Any) -> dict[str, Any]:
        """As if the owner created it in Google Calendar (pushes follow). `event` is a Google event
        resource: summary, start/end ({"dateTime", "timeZone"} or {"date"}), transparency,
        attendees, recurrence (["RRULE:..."]), id, extendedProperties..."""
        return dict(self._call("POST", f"/calendars/{self._q(calendar_id)}/events", event))

    def update_event(self, calendar_id: str, event_id: str, **changes: Any) -> dict[str, Any]:
        return dict(
            self._call("PATCH", f"/calendars/{self._q(calendar_id)}/events/{self._q(event_id)}", changes)
        )

    def delete_event(self, calendar_id: str, event_id: str) -> None:
        self._call("DELETE", f"/calendars/{self._q(calendar_id)}/events/{self._q(event_id)}")

    def events(self, calendar_id: str) -> list[dict[str, Any]]:
        """Every stored event of the calendar, deleted ones too (`_deleted`)."""
        return list(self._call("GET", f"/calendars/{self._q(calendar_id)}/events"))

    # --- grants and tokens ----------------------------------------------------------------------------

    def revoke_grant(self, user: str, reason: str = "revoked") -> int:
        """reason: revoked, expired (a testing app's 7-day refresh token) or invalid. Refreshes then
        answer 400 invalid_grant "Token has been expired or revoked."; API calls 401."""
        return int(self._call("POST", f"/users/{self._q(user)}/revoke", {"reason": reason})["grants"])

    def expire_access_tokens(self, user: str) -> int:
        return int(self._call("POST", f"/users/{self._q(user)}/expire-tokens")["tokens"])

    def grants(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/grants"))

    # --- channels and push ------------------------------------------------------------------------------

    def channels(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/channels"))

    def expire_channel(self, channel_id: str) -> None:
        self._call("POST", f"/channels/{self._q(channel_id)}/expire")

    def notifications(self) -> list[dict[str, Any]]:
        """Push deliveries: url, kind (the resource state), headers, status, attempts."""
        return list(self._call("GET", "/notifications"))

    def drop_notifications(self, count: int) -> None:
        """Lose the next `count` change messages (never `sync`)."""
        self._call("POST", "/notifications/drop", {"count": count})

    def wait_for_notifications(
        self, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float = 10.0
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            found = self.notifications()
            if predicate(found):
                return found
            if time.monotonic() > deadline:
                raise GoogleAdminError(f"notifications did not reach the expected state: {found}")
            time.sleep(0.05)

    def mail(self) -> list[dict[str, Any]]:
        """What Google would have mailed attendees (sendUpdates): to, kind, eventId, summary."""
        return list(self._call("GET", "/mail"))

    # --- faults and the request log -------------------------------------------------------------------

    def add_fault(
        self,
        kind: str,
        *,
        method: str | None = None,
        path: str | None = None,
        account: str | None = None,
        count: int = 1,
        retry_after: int = 1,
        latency_ms: int = 0,
        status: int = 0,
        code: str = "",
        message: str = "",
    ) -> dict[str, Any]:
        """kind: latency, throttle (429 rateLimitExceeded), unavailable (503 backendError), reset,
        reset_after_write, error (Google's error `status` with reason `code`, e.g. 403
        rateLimitExceeded; on /token the OAuth shape, e.g. 400 invalid_grant). path: a glob."""
        body = {
            "kind": kind,
            "method": method,
            "path": path,
            "account": account,
            "count": count,
            "retry_after": retry_after,
            "latency_ms": latency_ms,
            "status": status,
            "code": code,
            "message": message,
        }
        return dict(self._call("POST", "/faults", body))

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def request_log(self) -> dict[str, Any]:
        """{"entries": [{method, path, route, status, account, ms}], "counts": {route: n}}."""
        return dict(self._call("GET", "/requests"))

    def clear_request_log(self) -> None:
        self._call("DELETE", "/requests")
