"""`GET /health`: 200 when every dependency answers, 503 otherwise."""

from __future__ import annotations

import azure.functions as func

from functions.http_io import api_handler, json_response

bp = func.Blueprint()


@bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@api_handler
def health(req: func.HttpRequest) -> func.HttpResponse:
    from lib.features.health import (
        check_health,  # the storage and key clients: not on the webhook's cold path
    )

    report = check_health()
    return json_response(report.to_dict(), status=200 if report.healthy else 503)
