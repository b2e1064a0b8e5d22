"""Bookings (public, anonymous): `POST /links/{slug}/bookings` (with an optional
`Idempotency-Key`), and `POST /bookings/{id}/reschedule` / `POST /bookings/{id}/cancel`,
authorized by the booking's manage token (`Authorization: Bearer <token>` or the body's `token`);
the booking housekeeping timer (`SLOTBRIDGE_BOOKING_HOUSEKEEPING_SCHEDULE`).
Handlers parse, call one lib service, and answer. The services are imported on first use, so
that a cold start answering a Graph handshake does not load them."""

from __future__ import annotations

import azure.functions as func

from functions.http_io import api_handler, json_response, read_json

bp = func.Blueprint()


@bp.route(route="links/{slug}/bookings", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@api_handler
def create_booking(req: func.HttpRequest) -> func.HttpResponse:
    from lib.features.bookings import service
    from lib.features.bookings.validation import MAX_BODY_BYTES

    body = read_json(req, max_bytes=MAX_BODY_BYTES)
    status, answer = service.create_booking(
        req.route_params["slug"], body, req.headers.get("Idempotency-Key")
    )
    return json_response(answer, status=status)


@bp.route(route="bookings/{bookingId}/reschedule", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@api_handler
def reschedule_booking(req: func.HttpRequest) -> func.HttpResponse:
    from lib.features.bookings import service
    from lib.features.bookings.validation import MAX_BODY_BYTES, manage_token_from

    body = read_json(req, max_bytes=MAX_BODY_BYTES)
    token = manage_token_from(req.headers, body)
    return json_response(service.reschedule(req.route_params["bookingId"], token, body))


@bp.route(route="bookings/{bookingId}/cancel", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@api_handler
def cancel_booking(req: func.HttpRequest) -> func.HttpResponse:
    from lib.features.bookings import service
    from lib.features.bookings.validation import MAX_BODY_BYTES, manage_token_from

    raw = req.get_body() or b""
    body = read_json(req, max_bytes=MAX_BODY_BYTES) if raw.strip() else {}
    token = manage_token_from(req.headers, body)
    return json_response(service.cancel(req.route_params["bookingId"], token, body))


@bp.route(route="bookings/{bookingId}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@api_handler
def get_booking(req: func.HttpRequest) -> func.HttpResponse:
    # What the manage page shows; the token only in the Authorization header (never a query).
    from lib.features.bookings import service
    from lib.features.bookings.validation import manage_token_from

    token = manage_token_from(req.headers, {})
    return json_response(service.get_booking(req.route_params["bookingId"], token))


@bp.timer_trigger(arg_name="timer", schedule="%SLOTBRIDGE_BOOKING_HOUSEKEEPING_SCHEDULE%")
def booking_housekeeping(timer: func.TimerRequest) -> None:
    # Pending bookings past their search window and late booking events (lib.features.bookings.housekeeping).
    from lib.features.bookings import housekeeping

    housekeeping.run()
