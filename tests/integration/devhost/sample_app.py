"""A small function app that exercises every trigger kind the dev host runs."""

from __future__ import annotations

import json
import threading
import time

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)

timer_ticks: list[func.TimerRequest] = []
daily_ticks: list[func.TimerRequest] = []
queue_seen: list[tuple[str, int]] = []
queue_event = threading.Condition()


@app.route(route="items/{id:int}", methods=["GET", "PUT"])
def item(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps({"id": req.route_params["id"], "method": req.method}), mimetype="application/json"
    )


@app.route(route="items/latest", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def latest_item(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("latest")


@app.route(route="echo/{name}", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
def echo(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(
            {
                "name": req.route_params["name"],
                "query": dict(req.params),
                "header": req.headers.get("x-sample"),
                "body": req.get_body().decode(),
                "url": req.url,
            }
        ),
        status_code=201,
        headers={"X-Echo": "yes"},
        mimetype="application/json",
    )


@app.route(route="boom", auth_level=func.AuthLevel.ANONYMOUS)
def boom(req: func.HttpRequest) -> func.HttpResponse:
    raise RuntimeError("secret detail that must not leak")


@app.route(route="slow", auth_level=func.AuthLevel.ANONYMOUS)
def slow(req: func.HttpRequest) -> func.HttpResponse:
    time.sleep(float(req.params.get("s", "0")))
    return func.HttpResponse("done")


@app.timer_trigger(schedule="%SAMPLE_SCHEDULE%", arg_name="timer", run_on_startup=False)
def tick(timer: func.TimerRequest) -> None:
    timer_ticks.append(timer)


# Once a day: monitored by default (the host's schedule monitor remembers its runs).
@app.timer_trigger(schedule="%SAMPLE_DAILY%", arg_name="timer")
def daily(timer: func.TimerRequest) -> None:
    daily_ticks.append(timer)


@app.queue_trigger(arg_name="msg", queue_name="%SAMPLE_QUEUE%", connection="SampleStorage")
def consume(msg: func.QueueMessage) -> None:
    body = msg.get_body().decode()
    with queue_event:
        queue_seen.append((body, msg.dequeue_count))
        queue_event.notify_all()
    if "fail" in body:
        raise ValueError("this message always fails")
    if "slow" in body:
        time.sleep(3)
