"""Connections, calendars and calendar settings at the edge (`/users/{userId}/...`), and "Sync
now". Bodies are validated by the existing rules (their messages are the contract's); these models
describe them and build the answers from the connection feature's typed values."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from lib.core.errors import FieldError, ValidationFailed
from lib.core.input_rules import text_fault
from lib.core.wire import DateTimeText, IsoDateTime, WireModel
from lib.engine.show_as_policy import ShowAs
from lib.features.connections import account_limits, calendar_health
from lib.features.connections.calendars import (
    MAX_CONFLICT_CALENDARS,
    CalendarListing,
    CalendarSelection,
    ListedCalendar,
)
from lib.features.connections.connect_flow import CONNECT_PROVIDER, SIGN_IN_PROVIDERS
from lib.features.connections.connect_flow import ConnectStart as StartedConnect
from lib.features.connections.lifecycle import ConnectionView
from lib.features.connections.records import ConnectionStatus, ConnectMode


class ConnectRequest(WireModel):
    """The optional body of `POST /users/{userId}/connections`."""

    mode: ConnectMode = ConnectMode.POPUP
    provider: Literal["microsoft", "google"] = "microsoft"  # whose account signs in
    # Absent (not null) when not given; text only.
    return_url: str | SkipJsonSchema[None] = None  # used only if its origin is allowed
    opener_origin: str | SkipJsonSchema[None] = None  # the postMessage target (must be allowed)

    @classmethod
    def parse(cls, body: dict[str, Any]) -> ConnectRequest:
        """Non-text URLs count as absent; a URL that breaks the text rule, or an unknown mode, is
        refused (`ValidationFailed`) rather than quietly replaced by the default."""
        urls = {name: body.get(name) for name in ("returnUrl", "openerOrigin")}
        texts = {name: value for name, value in urls.items() if isinstance(value, str)}
        unusable = [FieldError(n, fault) for n, v in texts.items() if (fault := text_fault(v)) is not None]
        if unusable:
            raise ValidationFailed("The connect request is not valid.", unusable)
        try:
            mode = ConnectMode(str(body.get("mode", ConnectMode.POPUP.value)))
        except ValueError:
            raise ValidationFailed(
                "mode must be popup or redirect.", [FieldError("mode", "popup or redirect")]
            ) from None
        provider = body.get("provider", CONNECT_PROVIDER)
        if not isinstance(provider, str) or provider not in SIGN_IN_PROVIDERS:
            raise ValidationFailed(
                "provider must be microsoft or google.", [FieldError("provider", "microsoft or google")]
            )
        return cls(
            mode=mode,
            provider=provider,  # type: ignore[arg-type]  # one of SIGN_IN_PROVIDERS, checked above
            return_url=texts.get("returnUrl"),
            opener_origin=texts.get("openerOrigin"),
        )


class ConnectStart(WireModel):
    authorization_url: str
    # Only where the service has an administrator's approval step (Microsoft): absent otherwise.
    admin_consent_url: str | SkipJsonSchema[None] = None
    expires_at: IsoDateTime
    mode: ConnectMode

    @classmethod
    def of(cls, started: StartedConnect) -> ConnectStart:
        # Without an admin-consent step the field stays unset, so the answer leaves it out.
        consent = {"admin_consent_url": started.admin_consent_url} if started.admin_consent_url else {}
        return cls.answer(
            {
                "authorization_url": started.authorization_url,
                **consent,
                "expires_at": started.expires_at,
                "mode": started.mode,
            }
        )


class MissingCalendar(WireModel):
    connection_id: str
    calendar_id: str
    name: str
    account_email: str = ""
    check_for_conflicts: bool
    add_bookings: bool
    code: Literal["calendar_missing"]
    since: DateTimeText

    @classmethod
    def of(cls, missing: calendar_health.MissingCalendar) -> MissingCalendar:
        return cls.from_attrs(missing, code="calendar_missing")


class Connection(WireModel):
    connection_id: str
    provider: Literal["microsoft", "google"]
    status: ConnectionStatus
    email: str
    display_name: str = ""
    account_type: Literal["work", "personal"]
    scopes: list[str]
    connected_at: IsoDateTime
    needs_reconnect_since: IsoDateTime | None = None
    missing_calendars: list[MissingCalendar] = Field(default_factory=list)

    @classmethod
    def of(cls, view: ConnectionView) -> Connection:
        c = view.connection
        return cls.from_attrs(
            c,
            provider=c.provider,
            account_type="personal" if c.is_personal else "work",
            scopes=sorted(c.scopes),
            connected_at=c.created_at,
            missing_calendars=[MissingCalendar.of(m) for m in view.missing_calendars],
        )


class Connections(WireModel):
    connections: list[Connection]


class CalendarRef(WireModel):
    connection_id: str
    calendar_id: str

    @classmethod
    def of(cls, ref: tuple[str, str]) -> CalendarRef:
        return cls(connection_id=ref[0], calendar_id=ref[1])


class CalendarSettings(WireModel):
    """The body of `PUT .../calendar-settings` and its answer (what was stored)."""

    conflict_calendars: list[CalendarRef] = Field(max_length=MAX_CONFLICT_CALENDARS)
    write_calendar: CalendarRef | None = None
    blocking_show_as: list[ShowAs] | None = None

    @classmethod
    def of(cls, selection: CalendarSelection) -> CalendarSettings:
        return cls(
            conflict_calendars=[CalendarRef.of(ref) for ref in selection.conflicts],
            write_calendar=CalendarRef.of(selection.write) if selection.write else None,
            blocking_show_as=[ShowAs(s) for s in selection.blocking_show_as]
            if selection.blocking_show_as is not None
            else None,
        )


class CalendarOwner(WireModel):
    name: str = ""
    address: str = ""


class CalendarListItem(WireModel):
    connection_id: str
    calendar_id: str
    name: str
    owner: CalendarOwner
    account_email: str = ""
    can_edit: bool
    is_default: bool
    check_for_conflicts: bool
    add_bookings: bool

    @classmethod
    def of(cls, listed: ListedCalendar) -> CalendarListItem:
        cal = listed.calendar
        owner = CalendarOwner(name=cal.owner_name, address=cal.owner_address)
        return cls.from_attrs(cal, listed, owner=owner)


class UnavailableConnection(WireModel):
    connection_id: str
    code: str


class CalendarList(WireModel):
    blocking_show_as: list[str] | None = None
    calendars: list[CalendarListItem]
    unavailable: list[UnavailableConnection]
    missing: list[MissingCalendar]

    @classmethod
    def of(cls, listing: CalendarListing) -> CalendarList:
        return cls(
            blocking_show_as=listing.blocking_show_as,
            calendars=[CalendarListItem.of(c) for c in listing.calendars],
            unavailable=[UnavailableConnection(connection_id=i, code=c) for i, c in listing.unavailable],
            missing=[MissingCalendar.of(m) for m in listing.missing],
        )


class SyncQueued(WireModel):
    """The 202 answer of "Sync now": the re-read is queued."""

    status: Literal["queued"]
    connection_id: str


class AccountLimitInput(WireModel):
    """The body of `PUT /users/{userId}/account-limit` (validated by `parse_max_accounts`)."""

    model_config = ConfigDict(extra="forbid")

    max_accounts: int = Field(ge=account_limits.MIN_ACCOUNTS, le=account_limits.MAX_ACCOUNTS)


class AccountLimit(WireModel):
    """A user's account limit: their own (`isDefault` false) or the global default, and how many
    accounts are connected now."""

    max_accounts: int
    is_default: bool
    connected_accounts: int

    @classmethod
    def of(cls, limit: account_limits.AccountLimit) -> AccountLimit:
        return cls.from_attrs(limit)
