"""POST /v1.0/$batch: up to 20 requests, each run through the same dispatch as a top-level request
(authentication, faults, mailbox concurrency), so each can be throttled on its own.

As Graph does, a batch is either fully parallel or fully sequential: with no `dependsOn` anywhere
its members run at once (at most the mailbox concurrency limit at a time, the slots a client's
own limiter reserves for a batch), otherwise one after another in the order given."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from .web import Ctx, GraphError, json_response, route

MAX_REQUESTS = 20
MEMBER_HEADERS = ("Content-Type", "Retry-After", "Location", "Preference-Applied", "ETag")


def _member_request(outer: Request, item: dict[str, Any]) -> Request:
    url = str(item.get("url") or "")
    parts = urlsplit(url if url.startswith("/") else "/" + url)
    if parts.path.lower().startswith("/v1.0/"):
        raise GraphError(400, "BadRequest", "Batch request URLs must be relative to the version root.")
    headers = {k: str(v) for k, v in (item.get("headers") or {}).items()}
    for name in ("Authorization", "Prefer"):
        if name in outer.headers and name not in headers:
            headers[name] = outer.headers[name]
    data = None
    if "body" in item:
        body = item["body"]
        data = body if isinstance(body, str) else json.dumps(body)
        headers.setdefault("Content-Type", "application/json")
    builder = EnvironBuilder(
        path="/v1.0" + parts.path,
        query_string=parts.query,
        method=str(item.get("method", "GET")).upper(),
        headers=headers,
        data=data,
    )
    try:
        return builder.get_request()
    finally:
        builder.close()


@route("/v1.0/$batch", ["POST"], auth="graph", mailbox=False)
def batch(ctx: Ctx) -> Response:
    body = ctx.json_body()
    reqs = body.get("requests")
    if not isinstance(reqs, list) or not reqs:
        raise GraphError(400, "BadRequest", "Invalid batch payload format.")
    if len(reqs) > MAX_REQUESTS:
        raise GraphError(
            400, "BadRequest", f"The number of batch requests exceeds the limit of {MAX_REQUESTS}."
        )
    ids = [str(r.get("id", "")) for r in reqs if isinstance(r, dict)]
    if len(ids) != len(reqs) or any(not i for i in ids) or len(set(ids)) != len(ids):
        raise GraphError(400, "BadRequest", "Each batch request needs a unique id.")
    if not any(isinstance(item, dict) and item.get("dependsOn") for item in reqs):
        workers = max(1, min(len(reqs), ctx.app.config.mailbox_concurrency_limit))
        with ThreadPoolExecutor(workers, thread_name_prefix="sandbox-batch") as pool:
            responses = list(pool.map(lambda item: _run_member(ctx, item), reqs))
        return json_response({"responses": responses})
    statuses: dict[str, int] = {}
    responses = []
    for item in reqs:
        rid = str(item["id"])
        depends = item.get("dependsOn") or []
        if any(statuses.get(str(d), 0) >= 400 or str(d) not in statuses for d in depends):
            statuses[rid] = 424
            responses.append(
                {
                    "id": rid,
                    "status": 424,
                    "body": {
                        "error": {
                            "code": "FailedDependency",
                            "message": "A request this one depends on failed.",
                        }
                    },
                }
            )
            continue
        entry = _run_member(ctx, item)
        statuses[rid] = int(entry["status"])
        responses.append(entry)
    return json_response({"responses": responses})


def _run_member(ctx: Ctx, item: dict[str, Any]) -> dict[str, Any]:
    rid = str(item["id"])
    try:
        member = _member_request(ctx.request, item)
        resp = ctx.app.handle(member, in_batch=True)
    except GraphError as err:
        return {
            "id": rid,
            "status": err.status,
            "body": {"error": {"code": err.code, "message": err.message}},
        }
    entry: dict[str, Any] = {
        "id": rid,
        "status": resp.status_code,
        "headers": {k: resp.headers[k] for k in MEMBER_HEADERS if k in resp.headers},
    }
    raw = resp.get_data(as_text=True)
    if raw:
        try:
            entry["body"] = json.loads(raw)
        except ValueError:
            entry["body"] = raw
    return entry
