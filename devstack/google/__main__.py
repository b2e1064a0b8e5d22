"""`python -m devstack.google --port N --state-dir DIR`: serve the Google stand-in until interrupted.

Prints the base URL on stdout (one line, then flushes) and writes the CA to DIR/google-ca.pem and
the URL, CA path and client id to DIR/google.json."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

from . import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, GoogleConfig, GoogleStandIn, OAuthClient


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m devstack.google", description=__doc__)
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: a free one)")
    p.add_argument("--state-dir", default=".devstack/google", help="where the CA PEM and google.json go")
    p.add_argument("--client-id", default=DEFAULT_CLIENT_ID)
    p.add_argument("--client-secret", default=DEFAULT_CLIENT_SECRET)
    p.add_argument("--redirect-uri", action="append", default=[], help="registered redirect URI (repeatable)")
    args = p.parse_args(argv)
    config = GoogleConfig(clients=[OAuthClient(args.client_id, args.client_secret, args.redirect_uri)])
    standin = GoogleStandIn(config, port=args.port, state_dir=args.state_dir).start()
    info = {
        "url": standin.url,
        "ca_pem_path": str(Path(standin.ca_pem_path).resolve()),
        "client_id": args.client_id,
    }
    (Path(args.state_dir) / "google.json").write_text(json.dumps(info, indent=2))
    print(standin.url, flush=True)
    print(f"CA: {info['ca_pem_path']}", file=sys.stderr, flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    finally:
        standin.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
