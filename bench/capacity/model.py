"""The capacity and cost model: the bench's measured cost per unit of work (`latest.json`, written
by `python -m bench.capacity.capacity_bench`) times the stated assumptions, for 1k, 10k and 100k
connected hosts, against the limits of Graph, Storage and Flex Consumption.

    python -m bench.capacity.model            # print the generated tables
    python -m bench.capacity.model --write    # put them into docs/capacity.md and the README

Only the parts between the `capacity:begin`/`capacity:end` markers are generated; the prose
around them is written by hand. `tests/unit/test_capacity_doc.py` fails when the doc or the
README differ from what this module renders from the committed JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
LATEST = Path(__file__).with_name("latest.json")
DOC = ROOT / "docs" / "capacity.md"
README = ROOT / "README.md"

UNIT_LABELS = {
    "timer.renew_subscriptions.per_run_fixed": "renewal timer, one run (fixed part)",
    "timer.renew_subscriptions.per_run_per_host": "renewal timer, one run, per host",
    "subscription_renewal": "one subscription renewed",
    "timer.reconcile_sync.per_run_fixed": "reconciliation timer, one run (fixed part)",
    "timer.reconcile_sync.per_run_per_host": "reconciliation timer, one run, per host",
    "timer.booking_housekeeping.per_run_fixed": "booking housekeeping, one run (fixed part)",
    "timer.booking_housekeeping.per_run_per_host": "booking housekeeping, one run, per host",
    "change_notification": "one change notification",
    "availability.cached.1_host": "availability, cached, 1 host",
    "availability.cached.5_host_pool": "availability, cached, 5-host pool",
    "availability.cached_warm.1_host": "availability, cached warm, 1 host",
    "availability.cached_warm.5_host_pool": "availability, cached warm, 5-host pool",
    "availability.live.1_host": "availability, live, 1 host",
    "availability.live.5_host_pool": "availability, live, 5-host pool",
    "booking": "one booking",
    "reschedule": "one reschedule",
    "cancel": "one cancel",
    "webhook_delivery": "one webhook delivery (a redelivery)",
}
COLUMNS = (
    ("graph_requests", "Graph requests"),
    ("graph_calls", "Graph calls"),
    ("table_transactions", "Table tx"),
    ("table_entities_written", "entities written"),
    ("queue_transactions", "Queue tx"),
    ("queue_messages", "messages"),
    ("executions", "executions"),
)
HOST_COUNTS = (1_000, 10_000, 100_000)
AT_REST = "at rest (timers, renewals)"


@dataclass(frozen=True)
class Assumptions:
    """What the model assumes about the traffic; each figure is stated in the doc."""

    changes_per_host_day: float = 20  # Outlook events created, moved or deleted, besides bookings
    bookings_per_host_day: float = 1.0
    reschedules_per_booking: float = 0.1
    cancels_per_booking: float = 0.1
    page_views_per_booking: float = 10
    answers_per_page_view: float = 2  # the first week, then one more
    pool_share: float = 0.2  # of availability answers, on 5-host pools
    live_share: float = 0.05  # of availability answers, read live (calendars not fresh, beyond the horizon)
    peak_factor: float = 10  # peak second over the day's mean: ~3x for business hours, ~3x for bursts
    graph_latency_s: float = 0.15  # per Graph round trip, which the local figures do not include
    # Schedules (the settings' defaults) and the subscription lifetime Slotbridge asks Graph for.
    renewal_schedule: str = "0 */30 * * * *"
    reconcile_schedule: str = "0 15 */4 * * *"
    housekeeping_schedule: str = "0 */5 * * * *"
    subscription_lifetime_min: float = 10_070
    renewal_window_min: float = 2_880


# Limits, each cited in docs/capacity.md.
GRAPH_APP_RPS = 2_000  # per app across all tenants
GRAPH_MAILBOX_PER_10_MIN = 10_000  # per app per mailbox
STORAGE_ACCOUNT_TPS = 20_000  # requests per second per storage account
QUEUE_MESSAGES_PS = 2_000  # messages per second per queue (1 KiB)
HTTP_CONCURRENCY_PYTHON = 1  # Flex Consumption's per-instance HTTP default for Python
HTTP_CONCURRENCY_SET = 16  # the 2,048 MB default of other languages, settable for Python
MAX_INSTANCES = 1_000  # Flex Consumption's per-app maximum


def runs_per_day(schedule: str) -> int:
    from devstack.funchost.timers import next_occurrence, parse_ncrontab

    cron = parse_ncrontab(schedule)
    start = datetime(2026, 1, 5, tzinfo=UTC)
    at, runs = start - timedelta(microseconds=1), 0  # a run at midnight counts
    while (at := next_occurrence(cron, at)) < start + timedelta(days=1):
        runs += 1
    return runs


def _unit(data: dict[str, Any], key: str) -> dict[str, float]:
    return {name: float(data["units"][key][name]) for name, _ in COLUMNS}


def _plus(*parts: tuple[float, dict[str, float]]) -> dict[str, float]:
    return {name: sum(weight * unit[name] for weight, unit in parts) for name, _ in COLUMNS}


def per_host_day(data: dict[str, Any], a: Assumptions) -> dict[str, dict[str, float]]:
    """Per connected host per day, by source (the fixed parts of timer runs are per deployment
    and added in `model`)."""
    calendars = float(data["setup"]["conflict_calendars_per_host"])
    renewals = calendars * 1440 / (a.subscription_lifetime_min - a.renewal_window_min)
    timers = _plus(
        (runs_per_day(a.renewal_schedule), _unit(data, "timer.renew_subscriptions.per_run_per_host")),
        (renewals, _unit(data, "subscription_renewal")),
        (runs_per_day(a.reconcile_schedule), _unit(data, "timer.reconcile_sync.per_run_per_host")),
        (runs_per_day(a.housekeeping_schedule), _unit(data, "timer.booking_housekeeping.per_run_per_host")),
    )
    answers = a.bookings_per_host_day * a.page_views_per_booking * a.answers_per_page_view
    single, pool = 1 - a.pool_share, a.pool_share
    cached, live = 1 - a.live_share, a.live_share
    availability = _plus(
        (answers * single * cached, _unit(data, "availability.cached.1_host")),
        (answers * pool * cached, _unit(data, "availability.cached.5_host_pool")),
        (answers * single * live, _unit(data, "availability.live.1_host")),
        (answers * pool * live, _unit(data, "availability.live.5_host_pool")),
    )
    b = a.bookings_per_host_day
    bookings = _plus(
        (b, _unit(data, "booking")),
        (b * a.reschedules_per_booking, _unit(data, "reschedule")),
        (b * a.cancels_per_booking, _unit(data, "cancel")),
    )
    changes = _plus((a.changes_per_host_day, _unit(data, "change_notification")))
    return {
        AT_REST: timers,
        "changes in Outlook": changes,
        "availability answers": availability,
        "bookings, reschedules, cancels": bookings,
    }


def fixed_per_day(data: dict[str, Any], a: Assumptions) -> dict[str, float]:
    return _plus(
        (runs_per_day(a.renewal_schedule), _unit(data, "timer.renew_subscriptions.per_run_fixed")),
        (runs_per_day(a.reconcile_schedule), _unit(data, "timer.reconcile_sync.per_run_fixed")),
        (runs_per_day(a.housekeeping_schedule), _unit(data, "timer.booking_housekeeping.per_run_fixed")),
    )


def _http_seconds(data: dict[str, Any], key: str, a: Assumptions) -> float:
    """Execution seconds of one unit: as measured locally, plus the Graph round trips the local
    stack answers at once."""
    unit = data["units"][key]
    local = (
        sum(unit["executions_by_function"][f] * unit["execution_ms"][f] for f in unit["execution_ms"]) / 1000
    )
    return float(local + unit["graph_requests"] * a.graph_latency_s)


def model(data: dict[str, Any], a: Assumptions, hosts: int) -> dict[str, float]:
    parts = per_host_day(data, a)
    per_host = _plus(*((1.0, p) for p in parts.values()))
    timers, fixed = parts[AT_REST], fixed_per_day(data, a)
    day = {name: hosts * per_host[name] + fixed[name] for name, _ in COLUMNS}
    # Work that arrives from outside (pages, bookings, Outlook) peaks; the timers do not (they
    # burst at their own times: the reconciliation rows).
    peak = {
        name: (
            (day[name] - hosts * timers[name] - fixed[name]) * a.peak_factor
            + hosts * timers[name]
            + fixed[name]
        )
        / 86_400
        for name, _ in COLUMNS
    }
    answers = a.bookings_per_host_day * a.page_views_per_booking * a.answers_per_page_view
    busy_s_per_host_day = (
        answers * (1 - a.pool_share) * _http_seconds(data, "availability.cached.1_host", a)
        + answers * a.pool_share * _http_seconds(data, "availability.cached.5_host_pool", a)
        + a.bookings_per_host_day * _http_seconds(data, "booking", a)
        + a.bookings_per_host_day * a.reschedules_per_booking * _http_seconds(data, "reschedule", a)
        + a.bookings_per_host_day * a.cancels_per_booking * _http_seconds(data, "cancel", a)
        + a.changes_per_host_day * _http_seconds(data, "change_notification", a)
    )
    concurrent = hosts * busy_s_per_host_day / 86_400 * a.peak_factor
    graph_per_host_10_min = per_host["graph_calls"] / 144 * a.peak_factor
    reconcile = _unit(data, "timer.reconcile_sync.per_run_per_host")
    return {
        "reconcile.messages": hosts * reconcile["queue_messages"],
        "reconcile.graph_calls": hosts * reconcile["graph_calls"],
        **{f"day.{k}": v for k, v in day.items()},
        **{f"peak.{k}": v for k, v in peak.items()},
        "peak.storage_tx": peak["table_transactions"] + peak["queue_transactions"],
        "peak.concurrent_executions": concurrent,
        "graph_per_mailbox_10_min": graph_per_host_10_min,
    }


def _n(value: float) -> str:
    if value == int(value) or value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _pct(value: float, limit: float) -> str:
    share = 100 * value / limit
    return f"{share:.1f} %" if share >= 0.1 else f"{share:.2f} %"


def render_measured(data: dict[str, Any]) -> str:
    lines = [
        f"Measured {data['measured_at']} ({data['machine']}; {data['setup']['conflict_calendars_per_host']} "
        f"conflict calendars per host, {data['setup']['availability_days']}-day answers, mean of "
        f"{data['setup']['repeats']} runs per unit):",
        "",
        "| unit of work | " + " | ".join(h for _, h in COLUMNS) + " |",
        "| --- |" + " ---: |" * len(COLUMNS),
    ]
    for key, label in UNIT_LABELS.items():
        unit = data["units"][key]
        lines.append(f"| {label} | " + " | ".join(_n(float(unit[c])) for c, _ in COLUMNS) + " |")
    return "\n".join(lines)


def render_assumptions(a: Assumptions) -> str:
    rows = [
        ("Outlook changes per host per day (besides bookings)", _n(a.changes_per_host_day)),
        ("bookings per host per day", _n(a.bookings_per_host_day)),
        ("reschedules / cancels per booking", f"{a.reschedules_per_booking:g} / {a.cancels_per_booking:g}"),
        ("page views per booking", _n(a.page_views_per_booking)),
        ("availability answers per page view", _n(a.answers_per_page_view)),
        ("answers on 5-host pools", f"{a.pool_share:.0%}"),
        ("answers read live", f"{a.live_share:.0%}"),
        ("peak second / mean second", f"{a.peak_factor:g}x"),
        ("Graph round trip (added to execution time)", f"{a.graph_latency_s * 1000:.0f} ms"),
        (
            "timer runs per day: renewal / reconciliation / housekeeping",
            f"{runs_per_day(a.renewal_schedule)} / {runs_per_day(a.reconcile_schedule)} / "
            f"{runs_per_day(a.housekeeping_schedule)}",
        ),
        (
            "renewals per subscription per day (lifetime 10,070 min, window 2,880 min)",
            f"{1440 / (a.subscription_lifetime_min - a.renewal_window_min):.3f}",
        ),
    ]
    return "\n".join(["| assumption | value |", "| --- | ---: |", *(f"| {k} | {v} |" for k, v in rows)])


def render_per_host(data: dict[str, Any], a: Assumptions) -> str:
    parts = per_host_day(data, a)
    lines = [
        "| per connected host per day | " + " | ".join(h for _, h in COLUMNS) + " |",
        "| --- |" + " ---: |" * len(COLUMNS),
    ]
    for name, part in parts.items():
        lines.append(f"| {name} | " + " | ".join(_n(part[c]) for c, _ in COLUMNS) + " |")
    total = _plus(*((1.0, p) for p in parts.values()))
    lines.append("| **total** | " + " | ".join(f"**{_n(total[c])}**" for c, _ in COLUMNS) + " |")
    return "\n".join(lines)


def render_model(data: dict[str, Any], a: Assumptions) -> str:
    results = {h: model(data, a, h) for h in HOST_COUNTS}
    head = "| | " + " | ".join(f"{h:,} hosts" for h in HOST_COUNTS) + " |"
    lines = [head, "| --- |" + " ---: |" * len(HOST_COUNTS)]

    def row(label: str, cell: Any) -> None:
        lines.append(f"| {label} | " + " | ".join(cell(results[h], h) for h in HOST_COUNTS) + " |")

    row("Graph requests per day", lambda r, h: _n(r["day.graph_requests"]))
    row("Graph calls per day (throttling's count)", lambda r, h: _n(r["day.graph_calls"]))
    row("Table transactions per day", lambda r, h: _n(r["day.table_transactions"]))
    row("Queue messages per day", lambda r, h: _n(r["day.queue_messages"]))
    row("Function executions per day", lambda r, h: _n(r["day.executions"]))
    row("peak Graph calls per second", lambda r, h: _n(r["peak.graph_calls"]))
    row(f"… of Graph's {GRAPH_APP_RPS:,}/s per app", lambda r, h: _pct(r["peak.graph_calls"], GRAPH_APP_RPS))
    row(
        f"peak Graph calls per mailbox per 10 min (limit {GRAPH_MAILBOX_PER_10_MIN:,})",
        lambda r, h: _n(r["graph_per_mailbox_10_min"]),
    )
    row("peak storage transactions per second", lambda r, h: _n(r["peak.storage_tx"]))
    row(
        f"… of one account's {STORAGE_ACCOUNT_TPS:,}/s",
        lambda r, h: _pct(r["peak.storage_tx"], STORAGE_ACCOUNT_TPS),
    )
    row("peak queue messages per second (all queues)", lambda r, h: _n(r["peak.queue_messages"]))
    row(
        f"… of one queue's {QUEUE_MESSAGES_PS:,}/s",
        lambda r, h: _pct(r["peak.queue_messages"], QUEUE_MESSAGES_PS),
    )
    row(
        "one reconciliation run: `sync-requests` messages at once",
        lambda r, h: _n(r["reconcile.messages"]),
    )
    row(
        f"… seconds of one queue's {QUEUE_MESSAGES_PS:,}/s",
        lambda r, h: _n(r["reconcile.messages"] / QUEUE_MESSAGES_PS),
    )
    row(
        f"… its Graph calls, minutes at {GRAPH_APP_RPS:,}/s",
        lambda r, h: _n(r["reconcile.graph_calls"] / GRAPH_APP_RPS / 60),
    )
    row("peak concurrent executions", lambda r, h: _n(r["peak.concurrent_executions"]))
    row(
        f"instances at HTTP concurrency {HTTP_CONCURRENCY_PYTHON} (Python's default)",
        lambda r, h: f"{math.ceil(r['peak.concurrent_executions'] / HTTP_CONCURRENCY_PYTHON):,}",
    )
    row(
        f"instances at HTTP concurrency {HTTP_CONCURRENCY_SET}",
        lambda r, h: f"{math.ceil(r['peak.concurrent_executions'] / HTTP_CONCURRENCY_SET):,}",
    )
    return "\n".join(lines)


def render_readme(data: dict[str, Any], a: Assumptions) -> str:
    keys = ("booking", "availability.cached.1_host", "availability.live.1_host", "change_notification")
    lines = [
        "| per unit of work | " + " | ".join(h for _, h in COLUMNS) + " |",
        "| --- |" + " ---: |" * len(COLUMNS),
    ]
    for key in keys:
        unit = data["units"][key]
        lines.append(f"| {UNIT_LABELS[key]} | " + " | ".join(_n(float(unit[c])) for c, _ in COLUMNS) + " |")
    results = {h: model(data, a, h) for h in HOST_COUNTS}

    def share(key: str, limit: float) -> str:
        return " | ".join(f"{_n(results[h][key])} ({_pct(results[h][key], limit)})" for h in HOST_COUNTS)

    lines += [
        "",
        "| modelled (docs/capacity.md's assumptions) | "
        + " | ".join(f"{h:,} hosts" for h in HOST_COUNTS)
        + " |",
        "| --- |" + " ---: |" * len(HOST_COUNTS),
        "| Graph calls per day | "
        + " | ".join(_n(results[h]["day.graph_calls"]) for h in HOST_COUNTS)
        + " |",
        "| Table transactions per day | "
        + " | ".join(_n(results[h]["day.table_transactions"]) for h in HOST_COUNTS)
        + " |",
        f"| peak storage transactions/s (of one account) | {share('peak.storage_tx', STORAGE_ACCOUNT_TPS)} |",
        f"| peak Graph calls/s (of the per-app 2,000) | {share('peak.graph_calls', GRAPH_APP_RPS)} |",
    ]
    return "\n".join(lines)


SECTIONS = {"measured": render_measured, "per-host": render_per_host, "model": render_model}


def _replace(text: str, name: str, body: str) -> str:
    pattern = re.compile(
        rf"(<!-- capacity:begin {name} -->\n)(?:.*?\n)?(<!-- capacity:end {name} -->)", re.DOTALL
    )
    if not pattern.search(text):
        raise ValueError(f"no capacity:{name} markers")
    return pattern.sub(lambda m: m.group(1) + body + "\n" + m.group(2), text)


def render_doc(text: str, data: dict[str, Any], a: Assumptions = Assumptions()) -> str:
    text = _replace(text, "measured", render_measured(data))
    text = _replace(text, "assumptions", render_assumptions(a))
    text = _replace(text, "per-host", render_per_host(data, a))
    return _replace(text, "model", render_model(data, a))


def render_readme_text(text: str, data: dict[str, Any], a: Assumptions = Assumptions()) -> str:
    return _replace(text, "readme", render_readme(data, a))


def load(path: Path = LATEST) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--json", type=Path, default=LATEST)
    parser.add_argument("--write", action="store_true", help="update docs/capacity.md and the README")
    args = parser.parse_args()
    data, a = load(args.json), Assumptions()
    if args.write:
        DOC.write_text(render_doc(DOC.read_text(), data, a))
        README.write_text(render_readme_text(README.read_text(), data, a))
        return
    print(
        render_measured(data),
        render_assumptions(a),
        render_per_host(data, a),
        render_model(data, a),
        sep="\n\n",
    )


if __name__ == "__main__":
    main()
