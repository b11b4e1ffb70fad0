"""Serve Loopscope: `python -m server [--host H] [--port P] [--trust-code] [--allow-origin URL]` (http://127.0.0.1:5000)."""

import argparse
import logging
import signal
import sys

from . import origin
from .app import create_app
from .sandbox import MiB, Limits

DEFAULTS = Limits()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m server", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--max-runs", type=int, help="runs at once (default: twice the CPU count)")
    parser.add_argument("--max-queued", type=int, help="runs waiting before the server says busy (default 64)")
    parser.add_argument("--run-timeout", type=float,
                        help=f"wall-clock seconds a run may take (default {DEFAULTS.timeout:g})")
    parser.add_argument("--trust-code", action="store_true",
                        help="allow your own code even where the full sandbox is unavailable (your own laptop only; "
                             "the server then listens and answers on loopback only)")
    parser.add_argument("--allow-origin", action="append", default=[], metavar="URL",
                        help="let pages from this origin (e.g. https://course.example.org) open /ws besides the "
                             "server's own; repeatable")
    parser.add_argument("--max-output", type=float, metavar="MIB",
                        help=f"MiB of program output a run may send (default {DEFAULTS.output / MiB:g}); past it "
                             "the run ends with 'limit'")
    parser.add_argument("--client-stall", type=float, metavar="SECONDS",
                        help="cut off a client that accepts nothing for this long, stopping its run "
                             f"(default {DEFAULTS.client_stall:g})")
    parser.add_argument("--client-backlog", type=float, metavar="MIB",
                        help="cut off a client with more than this many MiB waiting to be sent to it "
                             f"(default {DEFAULTS.client_backlog / MiB:g})")
    parser.add_argument("--spares", type=int, metavar="N",
                        help="sandboxes started ahead, each waiting to serve one run at once (default 2; 0: none)")
    args = parser.parse_args(argv)
    if args.trust_code and not origin.is_loopback_host(args.host):
        parser.error(f"--trust-code listens on loopback only (127.0.0.1, ::1 or localhost), not {args.host}")
    for url in args.allow_origin:
        try:
            origin.normalise(url)
        except origin.BadOrigin as exc:
            parser.error(f"--allow-origin: {exc}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    limits = {}
    for name, value in (("timeout", args.run_timeout), ("client_stall", args.client_stall)):
        if value:
            limits[name] = value
    for name, value in (("output", args.max_output), ("client_backlog", args.client_backlog)):
        if value:
            limits[name] = int(value * MiB)
    config = {"TRUST_CODE": args.trust_code, "ALLOWED_ORIGINS": args.allow_origin, "LIMITS": limits}
    if args.max_runs:
        config["MAX_RUNS"] = args.max_runs
    if args.max_queued is not None:
        config["MAX_QUEUED"] = args.max_queued
    if args.spares is not None:
        if args.spares < 0:
            parser.error("--spares must be 0 or more")
        config["SPARES"] = args.spares
    app = create_app(config)
    # SIGTERM ends the server like Ctrl+C does, so every run is stopped on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        app.run(host=args.host, port=args.port, threaded=True)
    finally:
        app.extensions["loopscope"].shutdown()


if __name__ == "__main__":
    main()
