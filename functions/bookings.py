"""Bookings: `POST /links/{slug}/bookings` (anonymous, with an optional `Idempotency-Key`);
`POST /links/{slug}/meetings` (API key or the host's user token, with an optional
`Idempotency-Key`); `GET /bookings/{id}`, `POST /bookings/{id}/reschedule` and `.../cancel` by the
booking's attendee (its manage token: `Authorization: Bearer <token>` or the body's `token`; rate
limited like every anonymous write), its host (user token) or the product (API key) -
`auth_guard.booking_principal` says which; `GET /bookings` and `POST /bookings/{id}/no-show` for the
host and the product; the booking housekeeping timer (`SLOTBRIDGE_BOOKING_HOUSEKEEPING_SCHEDULE`).
Handlers parse into the edge models (`lib.api.bookings`), call one use case, and answer its
model; the status is chosen here. A body is parsed when the use case asks (after the link is found,
or the caller authorized), so a request with several faults is answered as it always was. The use
cases are imported on first use, so that a cold start answering a Graph handshake does not load
them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import azure.functions as func

from functions.auth_guard import booking_principal
from functions.http_io import api_handler, json_response, rate_limit, read_json
from functions.triggers import traced_trigger
from lib.core.auth import Principal, authenticate
from lib.core.settings import get_settings

if TYPE_CHECKING:
    from lib.features.bookings.manage import Caller

bp = func.Blueprint()


@bp.route(route="links/{slug}/bookings", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@api_handler
def create_booking(req: func.HttpRequest) -> func.HttpResponse:
    from lib.api.bookings import MAX_BODY_BYTES, BookingCreated, BookingInput
    from lib.features.bookings.create import create_booking
    from lib.features.bookings.validation import body_fingerprint, parse_idempotency_key

    rate_limit(req, "booking", req.route_params["slug"])
    body = read_json(req, max_bytes=MAX_BODY_BYTES)
    key = parse_idempotency_key(req.headers.get("Idempotency-Key"))
    created = create_booking(
        req.route_params["slug"], lambda: BookingInput.from_json(body).request(), key, body_fingerprint(body)
    )
    # 201 for a booking made, and for its replay under the same Idempotency-Key (the first answer again).
    return json_response(BookingCreated.created(created).wire(), status=201)


@bp.route(route="links/{slug}/meetings", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@api_handler
def create_meeting(req: func.HttpRequest) -> func.HttpResponse:
    # The product (API key) or a host (user token) books a time of its choosing; no rate limit:
    # the caller is authenticated, as on the other management routes.
    from lib.api.bookings import MAX_MEETING_BODY_BYTES, BookingCreated, MeetingInput
    from lib.core.auth import authenticate
    from lib.core.settings import get_settings
    from lib.features.bookings.create import create_meeting
    from lib.features.bookings.validation import body_fingerprint, parse_idempotency_key

    principal = authenticate(req.headers, get_settings().keys)
    body = read_json(req, max_bytes=MAX_MEETING_BODY_BYTES)
    key = parse_idempotency_key(req.headers.get("Idempotency-Key"))
    created = create_meeting(
        principal,
        req.route_params["slug"],
        lambda: MeetingInput.from_json(body).request(),
        key,
        body_fingerprint(body),
    )
    return json_response(BookingCreated.created(created).wire(), status=201)


def _caller(req: func.HttpRequest, principal: Principal | None, body: dict[str, Any]) -> Caller:
    """The product or the host, or else the booking's attendee by its manage token."""
    from lib.features.bookings.manage import Caller
    from lib.features.bookings.validation import manage_token_from

    if principal is not None:
        return Caller.of(principal)
    return Caller.attendee(manage_token_from(req.headers, body))


def _body(req: func.HttpRequest) -> dict[str, Any]:
    from lib.api.bookings import MAX_BODY_BYTES

    raw = req.get_body() or b""
    return read_json(req, max_bytes=MAX_BODY_BYTES) if raw.strip() else {}


@bp.route(route="bookings/{bookingId}/reschedule", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@api_handler
def reschedule_booking(req: func.HttpRequest) -> func.HttpResponse:
    from lib.api.bookings import MAX_BODY_BYTES, RescheduleBody, booking_answer
    from lib.features.bookings.manage import reschedule

    principal = booking_principal(req)
    if principal is None:
        rate_limit(req, "booking", req.route_params["bookingId"])
    body = read_json(req, max_bytes=MAX_BODY_BYTES)
    caller = _caller(req, principal, body)
    moved = reschedule(
        req.route_params["bookingId"], caller, lambda: RescheduleBody.from_json(body).request()
    )
    return json_response(booking_answer(moved).wire())


@bp.route(route="bookings/{bookingId}/cancel", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@api_handler
def cancel_booking(req: func.HttpRequest) -> func.HttpResponse:
    from lib.api.bookings import CancelBody, booking_answer
    from lib.features.bookings.manage import cancel

    principal = booking_principal(req)
    if principal is None:
        rate_limit(req, "booking", req.route_params["bookingId"])
    body = _body(req)
    caller = _caller(req, principal, body)
    cancelled = cancel(req.route_params["bookingId"], caller, lambda: CancelBody.from_json(body).reason)
    return json_response(booking_answer(cancelled).wire())


@bp.route(route="bookings/{bookingId}/no-show", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@api_handler
def mark_no_show(req: func.HttpRequest) -> func.HttpResponse:
    # The host (user token) or the product (API key) only: an attendee's token is refused.
    from lib.api.bookings import NoShowBody, booking_answer
    from lib.features.bookings.manage import mark_no_show

    caller = _caller(req, booking_principal(req), {})
    body = _body(req)
    marked = mark_no_show(req.route_params["bookingId"], caller, lambda: NoShowBody.from_json(body).no_show)
    return json_response(booking_answer(marked).wire())


@bp.route(route="bookings/{bookingId}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@api_handler
def get_booking(req: func.HttpRequest) -> func.HttpResponse:
    # The manage token only in the Authorization header (never a query).
    from lib.api.bookings import booking_answer
    from lib.features.bookings.manage import get_booking

    booking = get_booking(req.route_params["bookingId"], _caller(req, booking_principal(req), {}))
    return json_response(booking_answer(booking).wire())


@bp.route(route="bookings", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@api_handler
def list_bookings(req: func.HttpRequest) -> func.HttpResponse:
    # The product (API key) or a host (user token); query parameters only, no body.
    from lib.api.bookings import BookingPage
    from lib.features.bookings.manage import list_bookings
    from lib.features.bookings.validation import parse_list_query

    principal = authenticate(req.headers, get_settings().keys)
    query, cursor = parse_list_query(dict(req.params))
    return json_response(BookingPage.of(*list_bookings(principal, query, cursor)).wire())


@bp.timer_trigger(arg_name="timer", schedule="%SLOTBRIDGE_BOOKING_HOUSEKEEPING_SCHEDULE%")
@traced_trigger("timer")
def booking_housekeeping(timer: func.TimerRequest) -> None:
    # Pending bookings past their search window and late booking events (lib.features.bookings.housekeeping).
    from lib.features.bookings import housekeeping

    housekeeping.run()
