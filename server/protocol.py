"""The WebSocket protocol (a contract: other tools use it) — what a client may send, checked.

Client → server, JSON text:
    {"op": "run", "scenario": ID, "blocking": bool, "clock": "virtual" | "real"}
    {"op": "run", "code": SOURCE, "blocking": bool, "clock": ...}   (your own code)
    {"op": "stop"}
Server → client, JSON text, each with a `type` (built below, sent by `server/session.py`):
    {"type": "events", "run": N, "events": [...]}          the engine's events, unchanged, batched
    {"type": "status", "run": N, "state": "queued", "position": P}
    {"type": "status", "run": N, "state": "running"}                 (+ "worker": NAME in distributed mode)
    {"type": "status", "run": N, "state": "finished", "status": "ok" | "error" | ...}
    {"type": "error", "message": "..."}                    a bad request; the socket stays usable
"""

import json
from dataclasses import dataclass

import orjson

from . import catalog
from .events import schema
from .runner import Options, Program

CODE_FILENAME = "main.py"


class BadRequest(Exception):
    """A message the server cannot act on; its text is shown to the user as is."""


@dataclass(frozen=True)
class RunRequest:
    program: Program
    options: Options
    own_code: bool


# -- server -> client: every message is built here --------------------------------------------

def encode(message):
    """A message as the text sent: strict JSON (no NaN or Infinity: a page's JSON.parse refuses them;
    every number in a message is finite, checked where it came from), compact, UTF-8 as it is.

    orjson, not `json.dumps`: the events are most of what the server does, and encoding them
    was a third of the runner's time per event (measured in bench/server.py). The JSON is the
    same, but for how a float is spelled where both are right: `1e-06` is `1e-6` now."""
    return orjson.dumps(message).decode()


def events_message(run, batch):
    return {"type": "events", "run": run, "events": batch}


def queued(run, position):
    return {"type": "status", "run": run, "state": "queued", "position": position}


def running(run, worker=None):
    """(`worker`: the name of the worker running it, in distributed mode.)"""
    message = {"type": "status", "run": run, "state": "running"}
    if worker is not None:
        message["worker"] = worker
    return message


def finished(run, status):
    return {"type": "status", "run": run, "state": "finished", "status": status}


def error(message):
    # (It may quote what the client sent: a lone surrogate there could not be sent as UTF-8.)
    return {"type": "error", "message": schema.clean(message)}


# -- client -> server --------------------------------------------------------------------------

def parse(text, limits):
    """('run', RunRequest) or ('stop', None) for one client message; BadRequest says what is wrong."""
    if not isinstance(text, str):
        raise BadRequest("Messages must be JSON text, not binary.")
    try:
        message = json.loads(text)
    except ValueError:
        raise BadRequest("That message is not JSON. Send e.g. {\"op\": \"run\", \"scenario\": \"tasks\"}.") from None
    except RecursionError:
        raise BadRequest("That message is nested too deeply to be a request.") from None
    if not isinstance(message, dict):
        raise BadRequest("A message must be a JSON object with an \"op\" field.")
    op = message.get("op")
    if op == "stop":
        return "stop", None
    if op == "run":
        return "run", _run_request(message, limits)
    if op is None:
        raise BadRequest("The message has no \"op\" field: use \"run\" or \"stop\".")
    raise BadRequest(f"Unknown op {op!r}: use \"run\" or \"stop\".")


def _run_request(message, limits):
    unknown = sorted(set(message) - {"op", "scenario", "code", "blocking", "clock"})
    if unknown:
        # Quoted like every other value a client gave, and so escaped: a field named with a lone
        # surrogate (valid JSON) made an error that no UTF-8 frame can carry, and the socket went dead.
        raise BadRequest(f"Unknown field(s) in a run request: {', '.join(map(repr, unknown))}.")
    blocking = message.get("blocking", False)
    if not isinstance(blocking, bool):
        raise BadRequest("\"blocking\" must be true or false.")
    clock = message.get("clock", "virtual")
    if clock not in ("virtual", "real"):
        raise BadRequest("\"clock\" must be \"virtual\" or \"real\".")
    has_scenario, has_code = "scenario" in message, "code" in message
    if has_scenario == has_code:
        raise BadRequest("A run request needs exactly one of \"scenario\" (an id) or \"code\" (Python source).")
    if has_scenario:
        return _scenario_request(message["scenario"], blocking, clock)
    return _code_request(message["code"], blocking, clock, limits)


def _scenario_request(scenario_id, blocking, clock):
    if not isinstance(scenario_id, str):
        raise BadRequest("\"scenario\" must be a scenario id (a string).")
    try:
        program = Program.of_scenario(scenario_id, blocking)
    except catalog.UnknownScenario:
        known = ", ".join(catalog.scenarios())
        raise BadRequest(f"Unknown scenario {scenario_id!r}. Known scenarios: {known}.") from None
    except catalog.NoBlockingVariant:
        raise BadRequest(f"Scenario {scenario_id!r} has no blocking variant.") from None
    return RunRequest(program, Options(blocking=blocking, clock=clock), own_code=False)


def _code_request(code, blocking, clock, limits):
    if not isinstance(code, str):
        raise BadRequest("\"code\" must be Python source text (a string).")
    size = len(code.encode("utf-8", "surrogatepass"))
    if size > limits.source:
        raise BadRequest(f"The code is too large: {size / 1024:.0f} KiB, the limit is {limits.source // 1024} KiB.")
    if not code.strip():
        raise BadRequest("The code is empty: there is nothing to run.")
    program = Program(code, CODE_FILENAME, CODE_FILENAME)
    return RunRequest(program, Options(blocking=blocking, clock=clock, blocking_sleep=blocking), own_code=True)
