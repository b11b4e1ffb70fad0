"""A run's events as the messages a client receives: `running`, the events in batches, `finished`.

The one place a run's stream becomes protocol messages, for a run streamed to its socket in
this process (`session.RunJob`) and for one a worker streams to a replica (`worker.py`).
"""

import time

from . import protocol

BATCH_EVENTS = 500  # events per "events" message at most
BATCH_SECONDS = 0.03  # and no event waits longer than this to be sent


def messages(run, run_id, worker=None):
    """Yield (state, message) for `run`: state is "running", "events" or "finished" (the last).
    Closing the generator early ends the run's process, as its end does."""
    status, stream = "error", run.events(pauses=True)
    try:
        yield "running", protocol.running(run_id, worker)
        batch, oldest = [], 0.0
        for event in stream:
            if event is not None:
                if not batch:
                    oldest = time.monotonic()
                batch.append(event)
                if event["kind"] == "run.end":
                    status = event["status"]
            if batch and (event is None or len(batch) >= BATCH_EVENTS
                          or time.monotonic() - oldest >= BATCH_SECONDS or event["kind"] == "run.end"):
                yield "events", protocol.events_message(run_id, batch)
                batch = []
        yield "finished", protocol.finished(run_id, status)
    finally:
        stream.close()  # ends the child process
