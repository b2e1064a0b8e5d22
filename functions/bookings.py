"""Bookings (public, anonymous): `POST /links/{slug}/bookings` (with an optional
`Idempotency-Key`); `POST /links/{slug}/meetings` (API key or the host's user token, with an
optional `Idempotency-Key`), and `POST /bookings/{id}/reschedule` / `POST /bookings/{id}/cancel`,
authorized by the booking's manage token (`Authorization: Bearer <token>` or the body's `token`);
the booking housekeeping timer (`SLOTBRIDGE_BOOKING_HOUSEKEEPING_SCHEDULE`).
Handlers parse into the edge models (`lib.api.bookings`), call one use case, and answer its
model; the status is chosen here. A body is parsed when the use case asks (after the link is found,
or the caller authorized), so a request with several faults is answered as it always was. The use
cases are imported on first use, so that a cold start answering a Graph handshake does not load
them."""

from __future__ import annotations

import azure.functions as func

from functions.http_io import api_handler, json_response, rate_limit, read_json

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


@bp.route(route="bookings/{bookingId}/reschedule", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@api_handler
def reschedule_booking(req: func.HttpRequest) -> func.HttpResponse:
    from lib.api.bookings import MAX_BODY_BYTES, Booking, RescheduleBody
    from lib.features.bookings.manage import reschedule
    from lib.features.bookings.validation import manage_token_from

    rate_limit(req, "booking", req.route_params["bookingId"])
    body = read_json(req, max_bytes=MAX_BODY_BYTES)
    token = manage_token_from(req.headers, body)
    moved = reschedule(req.route_params["bookingId"], token, lambda: RescheduleBody.from_json(body).start)
    return json_response(Booking.of(moved).wire())


@bp.route(route="bookings/{bookingId}/cancel", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@api_handler
def cancel_booking(req: func.HttpRequest) -> func.HttpResponse:
    from lib.api.bookings import MAX_BODY_BYTES, Booking, CancelBody
    from lib.features.bookings.manage import cancel
    from lib.features.bookings.validation import manage_token_from

    rate_limit(req, "booking", req.route_params["bookingId"])
    raw = req.get_body() or b""
    body = read_json(req, max_bytes=MAX_BODY_BYTES) if raw.strip() else {}
    token = manage_token_from(req.headers, body)
    cancelled = cancel(req.route_params["bookingId"], token, lambda: CancelBody.from_json(body))
    return json_response(Booking.of(cancelled).wire())


@bp.route(route="bookings/{bookingId}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@api_handler
def get_booking(req: func.HttpRequest) -> func.HttpResponse:
    # What the manage page shows; the token only in the Authorization header (never a query).
    from lib.api.bookings import Booking
    from lib.features.bookings.manage import get_booking
    from lib.features.bookings.validation import manage_token_from

    token = manage_token_from(req.headers, {})
    return json_response(Booking.of(get_booking(req.route_params["bookingId"], token)).wire())


@bp.timer_trigger(arg_name="timer", schedule="%SLOTBRIDGE_BOOKING_HOUSEKEEPING_SCHEDULE%")
def booking_housekeeping(timer: func.TimerRequest) -> None:
    # Pending bookings past their search window and late booking events (lib.features.bookings.housekeeping).
    from lib.features.bookings import housekeeping

    housekeeping.run()
