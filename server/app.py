"""The Flask application factory: pages, the JSON API, the WebSocket, and the run pool they share.

    from server.app import create_app
    app = create_app({"MAX_RUNS": 2})
"""

import atexit
import logging
import os
from dataclasses import dataclass

from flask import Flask

from . import api, origin, sandbox, session
from .keepalive import Keepalive
from .pool import RunPool
from .protocol import CODE_FILENAME
from .spares import SparePool


@dataclass
class Settings:
    """What every request needs: the pool, the limits, and what the host's sandbox allows."""

    pool: RunPool
    limits: sandbox.Limits
    support: sandbox.Support
    trust_code: bool  # the operator trusts local code (a learner's own laptop without bubblewrap)
    keepalive: Keepalive  # pings every socket, drops the clients that are gone
    spares: SparePool  # children started ahead, each for one run (instant runs)

    def shutdown(self):
        """Stop every run and wait for their processes, then end the spares."""
        try:
            self.pool.shutdown()
        finally:
            self.spares.close()

    @property
    def own_code_allowed(self):
        return self.support.full or self.trust_code

    @property
    def own_code_refusal(self):
        return ("Running your own code is disabled on this server: it cannot provide the full sandbox "
                f"({'; '.join(self.support.problems)}). An operator can start it with --trust-code.")

    def describe(self):
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
    )
    if test_config:
        app.config.from_mapping(test_config)
    logging.getLogger("loopscope").setLevel(logging.INFO)
    support = sandbox.detect()
    if not support.full:
        app.logger.warning("Loopscope sandbox: %s", support.describe())
    limits = sandbox.Limits(**app.config["LIMITS"])
    settings = Settings(
        pool=RunPool(app.config["MAX_RUNS"], app.config["MAX_QUEUED"]),
        limits=limits,
        support=support,
        trust_code=app.config["TRUST_CODE"],
        keepalive=Keepalive(app.config["PING_INTERVAL"], 2 * app.config["PING_INTERVAL"]),
        # (for the web's runs: own code's file and a scenario's are both put in the sandbox's /tmp)
        spares=SparePool(app.config["SPARES"], support, limits, CODE_FILENAME),
    )
    app.extensions["loopscope"] = settings
    origin.init_app(app, app.config["ALLOWED_ORIGINS"], loopback_only=settings.trust_code)
    atexit.register(settings.shutdown)
    app.register_blueprint(api.bp)
    app.register_blueprint(session.bp)
    return app
