"""`python -m devstack.funchost [--port 7071]`: run the dev host until Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from devstack.funchost.host import DevHost


def main() -> None:
    parser = argparse.ArgumentParser(description="Slotbridge functions dev host")
    parser.add_argument("--port", type=int, default=7071)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with DevHost(port=args.port) as host:
        print(f"Functions dev host: {host.api_url}", flush=True)
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
