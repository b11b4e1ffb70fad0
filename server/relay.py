"""A run's events as the messages a client receives: `running`, the events in batches, `finished`.

The one place a run's stream becomes protocol messages, for a run streamed to its socket in
this process (`session.RunJob`) and for one a worker streams to a replica (`worker.py`).
"""

import time

from . import protocol
from .runner import Options, Program
from .stream import EventStream

BATCH_EVENTS = 500  # events per "events" message at most
BATCH_SECONDS = 0.03  # and no event waits longer than this to be sent


def messages(run, run_id, worker=None):
    """Yield (state, message) for `run`: state is "running", "events" or "finished" (the last).
    Closing the generator early ends the run's process, as its end does."""
    status, stream = "error", run.batches(pauses=True)
    try:
        yield "running", protocol.running(run_id, worker)
        held, oldest = [], 0.0
        for events in stream:
            ended = False
            if events is not None:
                if not held:
                    oldest = time.monotonic()
                held += events
                if events[-1]["kind"] == "run.end":  # (always the last of the last list)
                    status, ended = events[-1]["status"], True
                while len(held) > BATCH_EVENTS:
                    yield "events", protocol.events_message(run_id, held[:BATCH_EVENTS])
                    del held[:BATCH_EVENTS]
            if held and (events is None or ended or len(held) == BATCH_EVENTS
                         or time.monotonic() - oldest >= BATCH_SECONDS):
                yield "events", protocol.events_message(run_id, held)
                held = []
        yield "finished", protocol.finished(run_id, status)
    finally:
        stream.close()  # ends the child process


def stream_of(request_text, limits):
    """An EventStream for the program a queued request asked for, to word the `run.start` and
    `run.end` of a run that ends without its child (refused by a worker, its worker gone)."""
    try:
        _, request = protocol.parse(request_text, limits)
        return EventStream(request.program, request.options, limits)
    except protocol.BadRequest:
        return EventStream(Program("", protocol.CODE_FILENAME, protocol.CODE_FILENAME), Options(), limits)
