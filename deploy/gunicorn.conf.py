"""gunicorn's configuration for Loopscope in production on one machine:

    .venv/bin/gunicorn -c deploy/gunicorn.conf.py

run from the repository's root (pip install gunicorn first). Environment:
LOOPSCOPE_BIND (default 127.0.0.1:5000) and LOOPSCOPE_SOCKETS, the WebSockets it must hold
open at once (default 64). See the README's "Production" section.
"""

import os

wsgi_app = "server.app:create_app()"
bind = [os.environ.get("LOOPSCOPE_BIND", "127.0.0.1:5000")]

# One process: the run pool (how many runs at once, the queue) lives in it. More capacity is
# more replicas behind a balancer that carries WebSockets (or the distributed mode).
workers = 1
worker_class = "gthread"
# Each open WebSocket holds a thread for its whole life; the rest serve plain HTTP (the page,
# its modules, the health and readiness checks), so a full room never starves the balancer's checks.
threads = int(os.environ.get("LOOPSCOPE_SOCKETS", "64")) + 8
timeout = 30  # (the worker's heartbeat to the arbiter, not a request's limit: sockets live longer)
graceful_timeout = 10  # on SIGTERM: runs are stopped at once (below), clients told, then it waits this long
keepalive = 5
control_socket_disable = True  # (gunicorn's control socket: nothing here uses it)

accesslog = "-"
errorlog = "-"
loglevel = "info"


def post_worker_init(worker):
    """The run log (`loopscope run {...}`, one JSON object per run) goes where gunicorn's own does,
    in its format, named."""
    import logging
    import sys

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s %(message)s",
                                           "%Y-%m-%d %H:%M:%S %z"))
    runs = logging.getLogger("loopscope")
    runs.handlers = [handler]
    runs.propagate = False

    # On SIGTERM gunicorn stops taking connections and waits up to graceful_timeout for open
    # ones, which a WebSocket keeps open: stop the runs at once (each client is told, each run
    # logged), then let it wait for the sockets to go.
    import signal
    import threading

    settings = worker.wsgi.extensions["loopscope"]
    waits = signal.getsignal(signal.SIGTERM)

    def stop_runs_then_exit(signum, frame):
        threading.Thread(target=settings.shutdown, daemon=True).start()
        waits(signum, frame)

    signal.signal(signal.SIGTERM, stop_runs_then_exit)


def worker_exit(server, worker):
    """Stop every run (if any is left) and wait for its sandboxed process to end before the worker goes."""
    app = getattr(worker, "wsgi", None)
    if app is not None and hasattr(app, "extensions"):
        app.extensions["loopscope"].shutdown()
