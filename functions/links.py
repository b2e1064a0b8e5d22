"""Booking links: management (`PUT` and `DELETE /links/{slug}`, `GET /links`; API key or user token) and the
public view a booking page reads (`GET /links/{slug}`, anonymous). Handlers parse (the body's
validator is the link's own, `link_config_from_json`), call one lib service, and answer with an edge
model (`lib.api.links`); both are imported on first use (pydantic is not on the cold-start path)."""

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
    from lib.api.links import Link
    from lib.features.links import service
    from lib.features.links.config import link_config_from_json, parse_query_flag

    principal = authenticate(req.headers, get_settings().keys)
    reuse = parse_query_flag(req.params.get("reuseDeletedSlug"), "reuseDeletedSlug")
    config = link_config_from_json(req.route_params["slug"], read_json(req, max_bytes=MAX_LINK_BODY))
    created = service.put_link(principal, config, reuse_deleted_slug=reuse)
    return json_response(Link.of(config).wire(), status=201 if created else 200)


@bp.route(route="links/{slug}", methods=["DELETE"], auth_level=func.AuthLevel.ANONYMOUS)
@api_handler
def delete_link(req: func.HttpRequest) -> func.HttpResponse:
    from lib.features.links import service

    principal = authenticate(req.headers, get_settings().keys)
    service.delete_link(principal, req.route_params["slug"])
    return func.HttpResponse(status_code=204)


@bp.route(route="links", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@api_handler
def list_links(req: func.HttpRequest) -> func.HttpResponse:
    from lib.api.links import Links
    from lib.features.links import service

    principal = authenticate(req.headers, get_settings().keys)
    return json_response(Links.of(service.list_links(principal, req.params.get("userId") or None)).wire())


@bp.route(route="links/{slug}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@api_handler
def get_public_link(req: func.HttpRequest) -> func.HttpResponse:
    from lib.api.links import PublicLink
    from lib.features.links import service

    return json_response(PublicLink.of(service.load_link(req.route_params["slug"])).wire())
