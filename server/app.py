"""The Flask application factory: pages, the JSON API, the WebSocket, and the run pool they share.

    from server.app import create_app
    app = create_app({"MAX_RUNS": 2})

Configuration also comes from the environment as LOOPSCOPE_<KEY> (e.g. LOOPSCOPE_REDIS_URL), for
gunicorn. With REDIS_URL set, runs go to the workers on that Redis (`remote.py`) instead of the
pool in this process.
"""

import atexit
import logging
import os
from dataclasses import dataclass

from flask import Flask

from . import api, deflate, origin, sandbox, session
from .client_limits import ClientPolicy, LocalLimits, RedisLimits
from .keepalive import Keepalive
from .pool import RunPool
from .protocol import CODE_FILENAME
from .runner import Run
from .spares import SparePool


@dataclass
class Settings:
    """What every request needs: the pool, the limits, and what the host's sandbox allows."""

    pool: RunPool  # or a remote.RemotePool in distributed mode
    limits: sandbox.Limits
    support: sandbox.Support
    trust_code: bool  # the operator trusts local code (a learner's own laptop without bubblewrap)
    keepalive: Keepalive  # pings every socket, drops the clients that are gone
    spares: SparePool  # children started ahead, each for one run (instant runs)
    client_limits: LocalLimits  # runs per client address (or a RedisLimits shared by the replicas)
    remote: bool = False  # runs go to workers over Redis

    def new_job(self, session_, request, text):
        """The job that runs `request` (as the client sent it: `text`) for a session."""
        if self.remote:
            from .forwarder import RemoteJob

            return RemoteJob(session_, request, text, self.pool)
        run = Run(request.program, request.options, self.limits, self.support, spares=self.spares,
                  allow_reduced=self.trust_code)
        return session.RunJob(session_, run, request)

    def shutdown(self):
        """Stop every run and wait for their processes, then end the spares."""
        try:
            self.pool.shutdown()
        finally:
            self.spares.close()

    @property
    def own_code_allowed(self):
        if self.remote:
            return self.describe()["own_code"]
        return self.support.full or self.trust_code

    @property
    def own_code_refusal(self):
        if self.remote:
            return ("Running your own code is disabled on this server: " + self.describe()["description"] + ". An "
                    "operator can start every worker with the full sandbox, or (on one's own machine) both the "
                    "workers and this server with --trust-code.")
        return ("Running your own code is disabled on this server: it cannot provide the full sandbox "
                f"({'; '.join(self.support.problems)}). An operator can start it with --trust-code.")

    def describe(self):
        if self.remote:
            return self.pool.describe_sandboxes(self.trust_code)
        return {"full": self.support.full, "description": self.support.describe(),
                "own_code": self.own_code_allowed, "trusted": self.trust_code and not self.support.full}


def create_app(test_config=None):
    app = Flask(__name__, static_folder=str(api.WEB_DIR), static_url_path="/static")
    app.config.from_mapping(
        MAX_RUNS=2 * (os.cpu_count() or 1),  # runs at once; the rest wait in the queue
        MAX_QUEUED=64,  # past this, "busy"
        LIMITS={},  # what differs from sandbox.Limits' defaults, e.g. {"timeout": 3}
        TRUST_CODE=False,
        ALLOWED_ORIGINS=(),  # origins besides the server's own whose pages may open /ws
        # Messages up to 1 MiB are read, so that code over the source limit gets a clear error, not a closed
        # socket. (Pings are keepalive.py's: simple-websocket's dropped every slow client.)
        SOCK_SERVER_OPTIONS={"max_message_size": 1024 * 1024},
        PING_INTERVAL=1.0,  # a client that answers no ping and takes no data for two of these is dropped
        SPARES=2,  # children started ahead, waiting for a run each (0: every run starts its own)
        CLIENT_MAX_RUNS=0,  # runs at once per client address (0: no limit)
        CLIENT_RUNS_PER_MINUTE=0,  # runs started per client address in a minute (0: no limit)
        REDIS_URL=None,  # distributed mode: runs go to `python -m server.worker`s on this Redis
        REDIS_PREFIX="loopscope",
        WORKER_TIMEOUT=10.0,  # seconds a worker may be silent before its runs are ended
        PROXIES=0,  # proxies in front that each add the client's address to X-Forwarded-For (0: none)
    )
    app.config.from_prefixed_env("LOOPSCOPE")
    if test_config:
        app.config.from_mapping(test_config)
    logging.getLogger("loopscope").setLevel(logging.INFO)
    if app.config["REDIS_URL"]:  # (a replica runs nothing: the workers' sandboxes are what counts)
        support = sandbox.Support(problems=["runs go to the workers"])
    else:
        support = sandbox.detect()
        if not support.full:
            app.logger.warning("Loopscope sandbox: %s", support.describe())
    limits = sandbox.Limits(**app.config["LIMITS"])
    policy = ClientPolicy(int(app.config["CLIENT_MAX_RUNS"]), int(app.config["CLIENT_RUNS_PER_MINUTE"]))
    remote = bool(app.config["REDIS_URL"])
    if remote:
        from .remote import RemotePool
        from .run_queue import connect

        connection = connect(app.config["REDIS_URL"])
        pool = RemotePool(connection, limits, app.config["MAX_QUEUED"], float(app.config["WORKER_TIMEOUT"]),
                          app.config["REDIS_PREFIX"])
        client_limits = RedisLimits(policy, connection, app.config["REDIS_PREFIX"])
    else:
        pool = RunPool(app.config["MAX_RUNS"], app.config["MAX_QUEUED"])
        client_limits = LocalLimits(policy)
    settings = Settings(
        pool=pool,
        limits=limits,
        support=support,
        trust_code=app.config["TRUST_CODE"],
        keepalive=Keepalive(app.config["PING_INTERVAL"], 2 * app.config["PING_INTERVAL"]),
        # (for the web's runs: own code's file and a scenario's are both put in the sandbox's /tmp;
        # in distributed mode the workers have the spares)
        spares=SparePool(0 if remote else app.config["SPARES"], support, limits, CODE_FILENAME),
        client_limits=client_limits,
        remote=remote,
    )
    app.extensions["loopscope"] = settings
    if int(app.config["PROXIES"]):
        # The client's address (for the per-client limits and the run log) is then the one the
        # proxies pass on; only the address: the origin checks still use the Host as sent.
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=int(app.config["PROXIES"]), x_proto=0, x_host=0, x_port=0,
                                x_prefix=0)
    origin.init_app(app, app.config["ALLOWED_ORIGINS"], loopback_only=settings.trust_code)
    deflate.install()
    atexit.register(settings.shutdown)
    app.register_blueprint(api.bp)
    app.register_blueprint(session.bp)
    return app
