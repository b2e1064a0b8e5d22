"""Google's push messages (`events.watch` channels) as the intake needs them: Google POSTs with no
body; the headers say which channel (`X-Goog-Channel-ID`), which watched resource
(`X-Goog-Resource-ID`), the channel's token (`X-Goog-Channel-Token`: our clientState) and what
happened (`X-Goog-Resource-State`: `sync` when the channel starts, `exists` when something changed,
`not_exists` when the resource is gone). Pure; nothing else is read."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

MAX_HEADER = 1024
SUBSCRIPTION_SEPARATOR = "~"
STATES = frozenset({"sync", "exists", "not_exists"})


def subscription_id(channel_id: str, resource_id: str) -> str:
    """A channel as the change feed names its subscription: both ids (stopping it needs both)."""
    return f"{channel_id}{SUBSCRIPTION_SEPARATOR}{resource_id}"


@dataclass(frozen=True)
class ChannelMessage:
    subscription_id: str  # as the change feed named the channel's subscription
    client_state: str | None
    state: str

    @property
    def is_handshake(self) -> bool:
        """The first message of a new channel: nothing changed yet."""
        return self.state == "sync"


def read_channel_message(header: Callable[[str], str | None]) -> ChannelMessage | None:
    """The message in a push's headers (`header`: a case-insensitive lookup); None when it is
    not one (a header missing, oversized or an unknown state)."""
    values = {
        name: header(name)
        for name in (
            "X-Goog-Channel-ID",
            "X-Goog-Resource-ID",
            "X-Goog-Resource-State",
            "X-Goog-Channel-Token",
        )
    }
    channel, resource, state = (
        values["X-Goog-Channel-ID"],
        values["X-Goog-Resource-ID"],
        values["X-Goog-Resource-State"],
    )
    if not channel or not resource or state not in STATES:
        return None
    if any(value is not None and len(value) > MAX_HEADER for value in values.values()):
        return None
    return ChannelMessage(subscription_id(channel, resource), values["X-Goog-Channel-Token"], str(state))
