"""The app under soak, in its own process: the functions dev host (HTTP, timers, queue triggers)
loading `function_app` with the environment it was started with (no local.settings.json).

    python -m bench.soak.apphost --port 7071

Prints `ready <api url>` when it listens. Reads commands on stdin, one per line, and answers one
JSON line on stdout: `stats` (the queue triggers' counters: processed, failed, poisoned), `quit`.
A separate process so that its memory (RSS) is the app's and the dev host's alone — not the
sandbox's or the traffic generator's.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
import tracemalloc

from devstack.funchost import DevHost


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args()
    logging.basicConfig(
        level=args.log_level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # SOAK_TRACEMALLOC=<seconds>: where memory grows, from that many seconds after start (warm-up
    # done) to `quit`, written to this process's log (stderr).
    warm_up_s = float(os.environ.get("SOAK_TRACEMALLOC") or 0)
    tracing = warm_up_s > 0
    baseline: list[tracemalloc.Snapshot] = []
    if tracing:
        tracemalloc.start(8)
        threading.Timer(warm_up_s, lambda: baseline.append(tracemalloc.take_snapshot())).start()
    with DevHost(port=args.port, local_settings=None) as host:
        print(f"ready {host.api_url}", flush=True)
        for line in sys.stdin:
            command = line.strip()
            if command == "stats":
                queues = {
                    runner.queue_name: {
                        "processed": runner.processed,
                        "failed": runner.failed,
                        "poisoned": runner.poisoned,
                    }
                    for runner in host.queue_runners
                }
                print(json.dumps({"queues": queues}), flush=True)
            elif command == "quit":
                break
    if baseline:
        growth = tracemalloc.take_snapshot().compare_to(baseline[0], "traceback")
        print(f"tracemalloc: largest growth since {warm_up_s:.0f}s after start", file=sys.stderr)
        for stat in growth[:15]:
            print(f"{stat.size_diff / 1024:9.1f} KiB {stat.count_diff:+7d} blocks", file=sys.stderr)
            for frame in stat.traceback.format()[-8:]:
                print(f"    {frame}", file=sys.stderr)


if __name__ == "__main__":
    main()
