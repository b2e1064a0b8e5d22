"""Booking links: management (`PUT /links/{slug}`, `GET /links`; API key or user token) and the
public view a booking page reads (`GET /links/{slug}`, anonymous). Handlers parse, call one lib
service, and answer."""

from __future__ import annotations

import azure.functions as func

from functions.http_io import api_handler, json_response, read_json
from lib.core.auth import authenticate
from lib.core.settings import get_settings

bp = func.Blueprint()

# Room for a year of date overrides; the stored rules are bounded again by the record size check.
MAX_LINK_BODY = 64 * 1024


@bp.route(route="links/{slug}", methods=["PUT"], auth_level=func.AuthLevel.ANONYMOUS)
@api_handler
def put_link(req: func.HttpRequest) -> func.HttpResponse:
    from lib.features.links import service

    principal = authenticate(req.headers, get_settings().keys)
    body = read_json(req, max_bytes=MAX_LINK_BODY)
    link, created = service.put_link(principal, req.route_params["slug"], body)
    return json_response(link, status=201 if created else 200)


@bp.route(route="links", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@api_handler
def list_links(req: func.HttpRequest) -> func.HttpResponse:
    from lib.features.links import service

    principal = authenticate(req.headers, get_settings().keys)
    return json_response({"links": service.list_links(principal, req.params.get("userId") or None)})


@bp.route(route="links/{slug}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@api_handler
def get_public_link(req: func.HttpRequest) -> func.HttpResponse:
    from lib.features.links import service

    return json_response(service.public_link(req.route_params["slug"]))
