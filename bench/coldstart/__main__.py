"""Cold start: how long a fresh process takes to answer.

    python -m bench.coldstart [--runs 5] [--top 15]

1. `import function_app` in a fresh interpreter (`python -c`), `--runs` times: the app's part.
2. `python -X importtime -c "import function_app"`: who takes that time — grouped by owner (the
   app's own modules; `azure.functions`, which the Functions Python worker has loaded before it
   imports an app; each third-party or standard-library package), and the top modules by
   cumulative time.
3. End to end, in fresh processes (`bench.coldstart.serve`: the dev host loading the app): process
   start -> the first answered Graph validation handshake (`POST /api/graph/notifications?
   validationToken=x`), and, in other fresh processes, -> the first `/api/health` (storage and key
   checks against Azurite). Each with the process's own marks, to split host overhead (interpreter,
   the dev host's modules - werkzeug, croniter, the queue SDK -, starting its listeners) from the
   app's part (`import function_app`, and what the first request imports lazily).

Azurite is started for it (the health check and the queue listeners need it). Prints tables;
asserts nothing (the target - the handshake in under 0.5 s - is stated next to the numbers).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import requests

from bench.coldstart.importtime import owner as owner_of
from bench.coldstart.importtime import parse, within
from devstack.azurite import Azurite
from devstack.http_server import free_loopback_port

ROOT = Path(__file__).resolve().parents[2]
TARGET_S = 0.5


def app_env(storage: str) -> dict[str, str]:
    return {
        **os.environ,
        "AzureWebJobsStorage": storage,
        "SLOTBRIDGE_CLIENT_ID": "coldstart-client",
        "SLOTBRIDGE_CLIENT_SECRET": "coldstart-secret",
        "SLOTBRIDGE_PUBLIC_BASE_URL": "http://127.0.0.1:7071",
        "SLOTBRIDGE_DATA_KEY": base64.b64encode(os.urandom(32)).decode(),
        "SLOTBRIDGE_CLIENT_STATE_KEY": base64.b64encode(os.urandom(32)).decode(),
        "SLOTBRIDGE_TABLE_PREFIX": "cold",
        "SLOTBRIDGE_SUBSCRIPTION_RENEWAL_SCHEDULE": "0 0 3 1 1 *",
        "SLOTBRIDGE_SYNC_RECONCILE_SCHEDULE": "0 0 3 1 1 *",
        "SLOTBRIDGE_BOOKING_HOUSEKEEPING_SCHEDULE": "0 0 3 1 1 *",
        "SLOTBRIDGE_POISON_CHECK_SCHEDULE": "0 0 3 1 1 *",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def time_import(env: dict[str, str], runs: int) -> list[float]:
    code = "import time; t = time.perf_counter(); import function_app; print(time.perf_counter() - t)"
    return [
        float(
            subprocess.run(
                [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(runs)
    ]


def import_profile(env: dict[str, str], top: int) -> str:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import function_app"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    modules = within(parse(done.stderr), "function_app")
    total = sum(m.self_us for m in modules)
    by_owner: Counter[str] = Counter()
    for module in modules:
        by_owner[owner_of(module)] += module.self_us
    lines = [
        f"`import function_app` under -X importtime: {total / 1000:.0f} ms in {len(modules)} modules "
        "(importtime's own overhead inflates this; shares are what matter)",
        "",
        "| owner | self time | share |",
        "| --- | ---: | ---: |",
    ]
    shown = by_owner.most_common(10)
    for name, us in shown:
        lines.append(f"| {name} | {us / 1000:.1f} ms | {100 * us / total:.0f} % |")
    rest = total - sum(us for _, us in shown)
    lines.append(
        f"| everything else ({len(by_owner) - len(shown)} packages) | {rest / 1000:.1f} ms | "
        f"{100 * rest / total:.0f} % |"
    )
    lines += [
        "",
        f"Top {top} modules by cumulative time:",
        "",
        "| module | cumulative | share | imported by |",
        "| --- | ---: | ---: | --- |",
    ]
    for module in sorted(modules, key=lambda m: -m.cumulative_us)[:top]:
        parent = module.parents[-1] if module.parents else "-"
        lines.append(
            f"| {module.name} | {module.cumulative_us / 1000:.1f} ms | "
            f"{100 * module.cumulative_us / total:.0f} % | {parent} |"
        )
    return "\n".join(lines)


def cold_request(env: dict[str, str], first: str, queues: bool) -> dict[str, float]:
    """Start a fresh app process and hammer `first` until it answers; seconds from spawn."""
    port = free_loopback_port()
    base = f"http://127.0.0.1:{port}/api"
    args = [sys.executable, "-m", "bench.coldstart.serve", "--port", str(port)]
    if not queues:
        args.append("--no-queues")
    spawned = time.time()
    proc = subprocess.Popen(
        args,
        env=env,
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE if os.environ.get("COLDSTART_DEBUG") else subprocess.DEVNULL,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if first == "handshake":
                    r = requests.post(
                        f"{base}/graph/notifications", params={"validationToken": "x"}, timeout=5
                    )
                    ok = r.status_code == 200 and r.text == "x"
                else:
                    r = requests.get(f"{base}/health", timeout=10)
                    ok = r.status_code == 200
                if ok:
                    answered = time.time()
                    break
                raise RuntimeError(f"{first} answered {r.status_code}")
            except requests.ConnectionError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    error = proc.stderr.read()[-2000:] if proc.stderr and proc.poll() is not None else ""
                    raise RuntimeError(
                        f"the app did not answer {first} (exit code {proc.poll()}) {error}"
                    ) from None
                time.sleep(0.002)
        assert proc.stdout is not None
        marks = json.loads(proc.stdout.readline())
    finally:
        if proc.stdin:
            proc.stdin.close()
        proc.wait(timeout=30)
    return {
        "interpreter": marks["started"] - spawned,
        "host imports": marks["host_imported"] - marks["started"],
        "import function_app": marks["app_imported"] - marks["host_imported"],
        "host start": marks["listening"] - marks["app_imported"],
        "first request": answered - marks["listening"],
        "total": answered - spawned,
    }


def _ms(values: Sequence[float]) -> str:
    return f"{1000 * statistics.median(values):.0f} ms ({1000 * min(values):.0f}-{1000 * max(values):.0f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    with Azurite() as azurite:
        env = app_env(azurite.connection_string)
        imports = time_import(env, args.runs)
        print(f"`import function_app` in a fresh interpreter: median {_ms(imports)} over {args.runs} runs\n")
        print(import_profile(env, args.top))
        print()
        variants = [
            ("handshake, HTTP only", "handshake", False),
            ("handshake, with queue listeners + timers", "handshake", True),
            ("/health, HTTP only", "health", False),
        ]
        results = {
            name: [cold_request(env, first, queues) for _ in range(args.runs)]
            for name, first, queues in variants
        }
    phases = ["interpreter", "host imports", "import function_app", "host start", "first request", "total"]
    print(f"From process start to the first answer (median (min-max) of {args.runs} fresh processes):\n")
    print("| phase | owner | " + " | ".join(name for name, _, _ in variants) + " |")
    print("| --- | --- | " + " | ".join("---:" for _ in variants) + " |")
    owners = {
        "interpreter": "host",
        "host imports": "host",
        "import function_app": "app",
        "host start": "host",
        "first request": "app (+ lazy imports)",
        "total": "",
    }
    for phase in phases:
        cells = []
        for name, _, _ in variants:
            values = [run[phase] for run in results[name]]
            # With listeners, the host serves HTTP while it still starts them: the answer can come
            # before the host is done starting, so the two phases overlap.
            cells.append("during host start" if min(values) < 0 else _ms(values))
        label = f"**{phase}**" if phase == "total" else phase
        print(f"| {label} | {owners[phase]} | " + " | ".join(cells) + " |")
    handshake = statistics.median(run["total"] for run in results["handshake, HTTP only"])
    verdict = "met" if handshake < TARGET_S else "NOT met"
    print(
        f"\nTarget: the handshake answered < {TARGET_S * 1000:.0f} ms from process start (HTTP only): "
        f"{verdict} ({handshake * 1000:.0f} ms median)."
    )


if __name__ == "__main__":
    main()
