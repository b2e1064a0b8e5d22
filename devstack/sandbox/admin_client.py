"""A small client for the sandbox's admin API, used by tests and the demo seed."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from lib.adapters.outbound_http import make_session


class AdminError(RuntimeError):
    pass


def dt(value: str, time_zone: str = "UTC") -> dict[str, str]:
    """Graph's dateTimeTimeZone: dt("2026-11-20T09:00:00", "Pacific Standard Time")."""
    return {"dateTime": value, "timeZone": time_zone}


class SandboxAdmin:
    def __init__(self, base_url: str, ca_pem_path: str, timeout: float = 15.0) -> None:
        self.base = base_url.rstrip("/") + "/_admin"
        self.timeout = timeout
        self.session = make_session(ca_pem_path)

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        resp = self.session.request(method, self.base + path, json=body, timeout=self.timeout)
        if resp.status_code >= 400:
            raise AdminError(f"{method} {path}: {resp.status_code} {resp.text}")
        return resp.json() if resp.content else None

    @staticmethod
    def _key(account: str) -> str:
        return quote(account, safe="")

    # --- whole sandbox --------------------------------------------------------------------------

    def reset(self) -> None:
        self._call("POST", "/reset")

    def settings(self, **changes: Any) -> dict[str, Any]:
        """Read, or change, run-time settings (mailbox_concurrency_enabled, notification_retry_delays...)."""
        return dict(self._call("PATCH" if changes else "GET", "/settings", changes or None))

    def register_app(
        self, client_id: str, client_secret: str, redirect_uris: list[str] | None = None
    ) -> None:
        self._call(
            "POST",
            "/apps",
            {"client_id": client_id, "client_secret": client_secret, "redirect_uris": redirect_uris or []},
        )

    # --- accounts, calendars, events -----------------------------------------------------------

    def add_account(
        self,
        email: str,
        *,
        kind: str = "work",
        display_name: str | None = None,
        time_zone: str = "Pacific Standard Time",
        **switches: Any,
    ) -> dict[str, Any]:
        """switches: admin_approval_required, conditional_access_blocked, declines_consent,
        grantable_scopes (list), sign_in_failure (an AADSTS code of identity.SIGN_IN_FAILURES),
        tenant_id. Returns the account with `id`, `graph_id`, `default_calendar_id`."""
        body = {
            "email": email,
            "kind": kind,
            "display_name": display_name,
            "time_zone": time_zone,
            **switches,
        }
        return dict(self._call("POST", "/accounts", body))

    def update_account(self, account: str, **switches: Any) -> dict[str, Any]:
        return dict(self._call("PATCH", f"/accounts/{self._key(account)}", switches))

    def accounts(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/accounts"))

    def admin_consents(self) -> list[dict[str, Any]]:
        """Tenant-wide consents recorded by the admin-consent endpoint: tenant_id, client_id, scopes."""
        return list(self._call("GET", "/admin-consents"))

    def add_calendar(
        self,
        account: str,
        name: str,
        *,
        can_edit: bool = True,
        owner_name: str | None = None,
        owner_address: str | None = None,
        color: str = "auto",
    ) -> dict[str, Any]:
        """A secondary calendar; with can_edit=False and another owner, a shared read-only one."""
        body = {
            "name": name,
            "can_edit": can_edit,
            "owner_name": owner_name,
            "owner_address": owner_address,
            "color": color,
        }
        return dict(self._call("POST", f"/accounts/{self._key(account)}/calendars", body))

    def delete_calendar(self, account: str, calendar_id: str) -> None:
        """As if deleted in Outlook: its events go, its subscriptions get `subscriptionRemoved`, and
        Graph answers 404 ErrorItemNotFound on its routes. The default calendar cannot be deleted."""
        self._call("DELETE", f"/accounts/{self._key(account)}/calendars/{quote(calendar_id, safe='')}")

    def add_event(
        self,
        account: str,
        *,
        subject: str,
        start: dict[str, str],
        end: dict[str, str],
        calendar_id: str | None = None,
        is_all_day: bool = False,
        show_as: str = "busy",
        recurrence: dict[str, Any] | None = None,
        **graph_fields: Any,
    ) -> dict[str, Any]:
        """As if created in Outlook (notifications follow). Extra Graph event fields pass through."""
        body: dict[str, Any] = {
            "subject": subject,
            "start": start,
            "end": end,
            "isAllDay": is_all_day,
            "showAs": show_as,
            **graph_fields,
        }
        if recurrence is not None:
            body["recurrence"] = recurrence
        if calendar_id is not None:
            body["calendarId"] = calendar_id
        return dict(self._call("POST", f"/accounts/{self._key(account)}/events", body))

    def update_event(self, account: str, event_id: str, **graph_fields: Any) -> dict[str, Any]:
        return dict(self._call("PATCH", f"/accounts/{self._key(account)}/events/{event_id}", graph_fields))

    def delete_event(self, account: str, event_id: str) -> None:
        self._call("DELETE", f"/accounts/{self._key(account)}/events/{event_id}")

    def mailbox(self, account: str) -> dict[str, Any]:
        return dict(self._call("GET", f"/accounts/{self._key(account)}/mailbox"))

    # --- grants and tokens ----------------------------------------------------------------------

    def revoke_grant(self, account: str, reason: str = "revoked") -> int:
        """reason: revoked (AADSTS50173), expired (AADSTS700082) or invalid (AADSTS70000)."""
        return int(
            self._call("POST", f"/accounts/{self._key(account)}/revoke-grants", {"reason": reason})["grants"]
        )

    def expire_access_tokens(self, account: str) -> int:
        return int(self._call("POST", f"/accounts/{self._key(account)}/expire-tokens")["tokens"])

    def invalidate_delta_tokens(self, account: str) -> None:
        self._call("POST", f"/accounts/{self._key(account)}/invalidate-delta")

    # --- subscriptions and notifications --------------------------------------------------------

    def subscriptions(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/subscriptions"))

    def remove_subscription(self, subscription_id: str) -> None:
        """Removes it and sends `subscriptionRemoved` to its lifecycle URL."""
        self._call("DELETE", f"/subscriptions/{subscription_id}")

    def send_lifecycle(self, subscription_id: str, event: str) -> None:
        """event: reauthorizationRequired, subscriptionRemoved or missed."""
        self._call("POST", f"/subscriptions/{subscription_id}/lifecycle", {"event": event})

    def drop_notifications(self, count: int) -> None:
        self._call("POST", "/notifications/drop", {"count": count})

    def notifications(self) -> list[dict[str, Any]]:
        """Deliveries: url, kind, payload, status (pending|delivered|dropped|failed), attempts."""
        return list(self._call("GET", "/notifications"))

    def wait_for_notifications(
        self, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float = 10.0
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            found = self.notifications()
            if predicate(found):
                return found
            if time.monotonic() > deadline:
                raise AdminError(f"notifications did not reach the expected state: {found}")
            time.sleep(0.05)

    # --- faults and the request log -------------------------------------------------------------

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
        """kind: latency, throttle (429), unavailable (503), reset (drop before handling),
        reset_after_write (apply, then drop), error (the Graph error `status`/`code`/`message`
        instead of handling). path is a glob on the request path."""
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

    def faults(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/faults"))

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def request_log(self) -> dict[str, Any]:
        """{"entries": [{method, path, route, status, account, batch, ms}], "counts": {route: n}}."""
        return dict(self._call("GET", "/requests"))

    def clear_request_log(self) -> None:
        self._call("DELETE", "/requests")
