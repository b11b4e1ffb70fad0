"""Serve Loopscope: `python -m server [--host H] [--port P] [--trust-code] [--allow-origin URL]` (http://127.0.0.1:5000).

With `--redis URL` it is one web replica of the distributed mode: runs go to the workers
(`python -m server.worker --redis URL`) reading that Redis, and any number of replicas may serve."""

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
    parser.add_argument("--max-memory", type=float, metavar="MIB",
                        help=f"MiB of memory a run may use (default {DEFAULTS.memory / MiB:g}; --max-runs times this "
                             "is what runs could take at worst)")
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
    parser.add_argument("--redis", metavar="URL",
                        help="distributed mode: send runs to the workers on this Redis (e.g. redis://10.0.0.5:6379/0) "
                             "instead of running them here")
    parser.add_argument("--worker-timeout", type=float, metavar="SECONDS",
                        help="distributed mode: end the runs of a worker silent for this long (default 10)")
    parser.add_argument("--client-max-runs", type=int, metavar="N",
                        help="runs one client address may have at once, across every replica (default: no limit)")
    parser.add_argument("--client-runs-per-minute", type=int, metavar="N",
                        help="runs one client address may start in any minute, across every replica (default: no limit)")
    parser.add_argument("--proxies", type=int, metavar="N",
                        help="the server is reached only through N proxies that each add the client's address to "
                             "X-Forwarded-For: the limits and the run log then use that address (default 0)")
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
    for name, value in (("output", args.max_output), ("client_backlog", args.client_backlog),
                        ("memory", args.max_memory)):
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
    for name, value in (("CLIENT_MAX_RUNS", args.client_max_runs), ("CLIENT_RUNS_PER_MINUTE", args.client_runs_per_minute)):
        if value is not None:
            if value < 0:
                parser.error("--client-max-runs and --client-runs-per-minute must be 0 (no limit) or more")
            config[name] = value
    if args.redis:
        config["REDIS_URL"] = args.redis
    if args.proxies:
        config["PROXIES"] = args.proxies
    if args.worker_timeout:
        config["WORKER_TIMEOUT"] = args.worker_timeout
    try:
        app = create_app(config)
    except Exception as exc:  # noqa: BLE001 - only the distributed mode's start reaches out: to Redis
        if not args.redis:
            raise
        parser.exit(1, f"python -m server: cannot use the Redis at {args.redis}: {exc}\n")
    # SIGTERM ends the server like Ctrl+C does, so every run is stopped on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        app.run(host=args.host, port=args.port, threaded=True)
    finally:
        app.extensions["loopscope"].shutdown()


if __name__ == "__main__":
    main()
