"""The attendee's manage token: 256 random bits, handed out once (in the 201), checked against its
SHA-256 in constant time. It authorizes reschedule and cancel of its booking only. The booking also
keeps it sealed under the data key (the booking id bound in), only to render the event's manage link
again when the booking moves."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import quote

from lib.adapters.keyvault import data_keys
from lib.core.auth import Forbidden
from lib.core.crypto import seal, unseal
from lib.core.errors import Unauthorized


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", errors="surrogatepass")).hexdigest()


def require_token(stored_hash: str, token: str | None) -> None:
    """`Unauthorized` (401) without a token; `Forbidden` (403) when it is not this booking's."""
    if not token:
        raise Unauthorized("This booking's manage token is required (Authorization: Bearer <token>).")
    if not hmac.compare_digest(token_hash(token), stored_hash):
        raise Forbidden("The manage token does not belong to this booking.")


def _associated_data(booking_id: str) -> bytes:
    return f"manage-token|{booking_id}".encode()


def seal_token(booking_id: str, token: str) -> str:
    return seal(token.encode(), data_keys().current(), _associated_data(booking_id))


def unseal_token(booking_id: str, sealed: str) -> str:
    return unseal(sealed, data_keys(), _associated_data(booking_id)).decode()


def manage_url(public_base_url: str, booking_id: str, token: str) -> str:
    """The manage page with its token in the fragment, which a browser never sends: the token stays out
    of request logs, telemetry and Referer headers (links from before carried `?token=`, which the page
    still reads)."""
    base = public_base_url.rstrip("/")
    return f"{base}/api/book/manage/{quote(booking_id, safe='')}#token={quote(token, safe='')}"
