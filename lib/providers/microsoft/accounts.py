"""Microsoft accounts behind the seam (`lib.providers.accounts`): the sign-in through MSAL's
auth-code-flow helpers (PKCE, state, nonce; the answer posted back, `form_post`), the account read
from MSAL's account and the ID token's claims, its token cache kept in the vault, and its
calendars read from Graph (`/me/calendars`, `/me/calendar`). How to act as an account (the Graph
client) and the vault are injected by connections."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from lib.adapters.graph import GraphClient
from lib.adapters.identity.msal_client import (
    CONSUMERS_TENANT_ID,
    GRAPH_SCOPES,
    REQUIRED_SCOPE,
    confidential_app,
    granted_scopes,
)
from lib.adapters.identity.sign_in_errors import (
    InsufficientPermissions,
    InvalidSignInState,
    admin_consent_url,
    sign_in_error,
)
from lib.adapters.identity.token_vault import TokenVault
from lib.core.settings import get_settings
from lib.providers.accounts import AccountCalendar, AccountRef, SignedInAccount, SignInStart

if TYPE_CHECKING:
    import msal

CALENDAR_FIELDS = "id,name,owner,canEdit,isDefaultCalendar,color"

AccountClient = Callable[[AccountRef], GraphClient]


def _calendar(item: dict[str, Any], *, can_edit_unsaid: bool) -> AccountCalendar:
    owner = item.get("owner") or {}
    return AccountCalendar(
        calendar_id=str(item["id"]),
        name=str(item.get("name", "")),
        owner_name=str(owner.get("name", "")),
        owner_address=str(owner.get("address", "")),
        can_edit=bool(item.get("canEdit", can_edit_unsaid)),
        is_default=bool(item.get("isDefaultCalendar", False)),
    )


class MicrosoftAccounts:
    def __init__(self, *, client_for: AccountClient, vault: Callable[[], TokenVault]) -> None:
        self._client_for = client_for
        self._vault = vault

    def start_sign_in(self, state: str) -> SignInStart:
        settings = get_settings()
        # form_post keeps the code out of URLs, browser history and access logs (RFC 9700 4.3.1).
        flow = confidential_app(settings.microsoft).initiate_auth_code_flow(
            GRAPH_SCOPES,
            redirect_uri=settings.redirect_uri,
            state=state,
            prompt="select_account",
            response_mode="form_post",
        )
        return SignInStart(str(flow["auth_uri"]), flow, admin_consent_url(settings))

    def complete_sign_in(self, flow: dict[str, Any], params: dict[str, str]) -> SignedInAccount:
        import msal

        settings = get_settings()
        if params.get("error"):
            raise sign_in_error(params.get("error"), params.get("error_description"), settings)
        cache = msal.SerializableTokenCache()
        app = confidential_app(settings.microsoft, cache)
        try:
            result = app.acquire_token_by_auth_code_flow(flow, params)
        except ValueError:  # MSAL: state mismatch or a malformed response
            raise InvalidSignInState(
                "The sign-in response does not match this sign-in. Start again."
            ) from None
        if "error" in result:
            raise sign_in_error(result.get("error"), result.get("error_description"), settings)
        if REQUIRED_SCOPE.lower() not in granted_scopes(result):
            raise InsufficientPermissions(
                "Slotbridge needs permission to read and write your calendars (Calendars.ReadWrite), and it "
                "was not granted. Connect again and accept every permission."
            )
        accounts = app.get_accounts()
        claims = result.get("id_token_claims", {})
        if not accounts:
            raise InvalidSignInState("Microsoft's answer did not identify an account. Start again.")
        tenant_id = str(claims.get("tid", ""))
        return SignedInAccount(
            account_id=str(accounts[0]["home_account_id"]),
            email=str(claims.get("preferred_username") or claims.get("email") or ""),
            display_name=str(claims.get("name", "")),
            tenant_id=tenant_id,
            is_personal=tenant_id == CONSUMERS_TENANT_ID,
            scopes=sorted(granted_scopes(result)),
            tokens=cache,
        )

    def save_tokens(self, connection_id: str, account: SignedInAccount) -> None:
        self._vault().store(connection_id, cast("msal.SerializableTokenCache", account.tokens))

    def forget_tokens(self, connection_id: str) -> None:
        self._vault().wipe(connection_id)

    def calendars(self, account: AccountRef) -> list[AccountCalendar]:
        client = self._client_for(account)
        return [
            _calendar(item, can_edit_unsaid=False)
            for item in client.iter_items("/me/calendars", params={"$select": CALENDAR_FIELDS, "$top": "100"})
        ]

    def default_calendar(self, account: AccountRef) -> AccountCalendar:
        primary = self._client_for(account).get("/me/calendar", params={"$select": CALENDAR_FIELDS})
        # The primary calendar is the account's own: writable unless Graph says otherwise.
        return _calendar(primary, can_edit_unsaid=True)
