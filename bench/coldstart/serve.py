"""The process `bench.coldstart` starts cold: the dev host serving `function_app`. It prints one JSON
line of wall-clock marks (time.time()) when it listens: `started` (this module runs: the
interpreter is up), `host_imported` (the dev host's own modules), `app_imported` (`import
function_app`: settings validated, blueprints registered), `listening`. Runs until stdin closes.

    python -m bench.coldstart.serve --port P [--no-queues]
"""

from __future__ import annotations

import time

STARTED = time.time()

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402

from devstack.funchost.host import DevHost  # noqa: E402

HOST_IMPORTED = time.time()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--no-queues", action="store_true", help="no queue listeners and timers (HTTP only)")
    args = parser.parse_args()
    import function_app  # noqa: F401 - timed on its own; the host would import it next

    app_imported = time.time()
    background = not args.no_queues
    with DevHost(port=args.port, local_settings=None, run_timers=background, run_queues=background):
        marks = {
            "started": STARTED,
            "host_imported": HOST_IMPORTED,
            "app_imported": app_imported,
            "listening": time.time(),
        }
        print(json.dumps(marks), flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
