"""Google accounts behind the seam (`lib.providers.accounts`): the sign-in (`oauth`), the account
read from the ID token's claims, its tokens kept in the vault (`tokens`), and its calendars read
from `calendarList` - the role on each decides: `writer` / `owner` can take bookings,
`reader` / `freeBusyReader` can only be checked for conflicts; the primary calendar is the default.
How to act as an account (the calendar client) is given by the provider."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from lib.core.settings import get_settings
from lib.providers.accounts import AccountCalendar, AccountRef, SignedInAccount, SignInStart
from lib.providers.google import oauth
from lib.providers.google.client import GoogleCalendarClient
from lib.providers.google.tokens import GoogleTokenVault

WRITABLE_ROLES = frozenset({"writer", "owner"})
CALENDAR_FIELDS = "id,summary,summaryOverride,accessRole,primary"
# Google's own account id (`sub`) under a prefix: account ids of every provider share one index.
ACCOUNT_ID_PREFIX = "google."

AccountClient = Callable[[AccountRef], GoogleCalendarClient]


def calendar_of(item: dict[str, Any]) -> AccountCalendar:
    calendar_id = str(item["id"])
    return AccountCalendar(
        calendar_id=calendar_id,
        name=str(item.get("summaryOverride") or item.get("summary") or calendar_id),
        owner_name="",
        # A user's own calendars are named by their address; other ids say nothing of an owner.
        owner_address=calendar_id if "@" in calendar_id and "calendar.google.com" not in calendar_id else "",
        can_edit=item.get("accessRole") in WRITABLE_ROLES,
        is_default=item.get("primary") is True,
    )


class GoogleAccounts:
    def __init__(self, *, client_for: AccountClient, vault: Callable[[], GoogleTokenVault]) -> None:
        self._client_for = client_for
        self._vault = vault

    def start_sign_in(self, state: str) -> SignInStart:
        url, flow = oauth.authorization(get_settings(), state)
        return SignInStart(url, flow)

    def complete_sign_in(self, flow: dict[str, Any], params: dict[str, str]) -> SignedInAccount:
        tokens, claims = oauth.exchange(get_settings(), flow, params)
        domain = str(claims.get("hd") or "")  # a Workspace account's domain; none for gmail.com
        return SignedInAccount(
            account_id=ACCOUNT_ID_PREFIX + str(claims["sub"]),
            email=str(claims.get("email") or ""),
            display_name=str(claims.get("name") or ""),
            tenant_id=domain,
            is_personal=not domain,
            scopes=list(tokens.scopes),
            tokens=tokens,
        )

    def save_tokens(self, connection_id: str, account: SignedInAccount) -> None:
        self._vault().store(connection_id, cast("oauth.GoogleTokens", account.tokens))

    def forget_tokens(self, connection_id: str) -> None:
        self._vault().forget(connection_id)

    def calendars(self, account: AccountRef) -> list[AccountCalendar]:
        client = self._client_for(account)
        found: list[AccountCalendar] = []
        params = {"fields": f"items({CALENDAR_FIELDS}),nextPageToken", "maxResults": 250}
        for page in client.pages("/users/me/calendarList", params):
            items = page.get("items")
            found += [
                calendar_of(i) for i in items or [] if isinstance(i, dict) and isinstance(i.get("id"), str)
            ]
        return found

    def default_calendar(self, account: AccountRef) -> AccountCalendar:
        return calendar_of(
            self._client_for(account).get("/users/me/calendarList/primary", {"fields": CALENDAR_FIELDS})
        )
