"""`GET /links/{slug}/availability` (public, anonymous): bookable slots of a link."""

from __future__ import annotations

import azure.functions as func

from functions.http_io import api_handler, json_response, rate_limit

bp = func.Blueprint()


@bp.route(route="links/{slug}/availability", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@api_handler
def get_availability(req: func.HttpRequest) -> func.HttpResponse:
    from lib.api.availability import Availability
    from lib.features.availability.service import link_availability, parse_availability_query

    rate_limit(req, "availability", req.route_params["slug"])
    query = parse_availability_query(req.params)
    return json_response(Availability.of(link_availability(req.route_params["slug"], query)).wire())
